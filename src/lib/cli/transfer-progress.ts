/** listr2 progress for volume uploads and downloads: bytes done, total and rate, updated as they go. */
import type {Progress} from '../client/storage.js'
import {humanSize} from '../client/storage.js'

type RendererName = 'default' | 'simple' | 'silent'

/** Runs `work` as one listr2 task titled `title`, its output line showing the transfer's progress. */
export async function withTransferProgress<T>(title: string, silent: boolean, work: (progress: Progress) => Promise<T>): Promise<T> {
  const {Listr} = await import('listr2')
  const renderer: RendererName = silent ? 'silent' : process.stdout.isTTY ? 'default' : 'simple'
  let result: T | undefined
  const start = Date.now()
  let last = 0
  const list = new Listr<unknown, RendererName, 'simple' | 'silent'>(
    [
      {
        title,
        task: async (_ctx, task) => {
          result = await work((done, total) => {
            const now = Date.now()
            if (now - last < 200 && done !== total) return
            last = now
            const secs = Math.max((now - start) / 1000, 0.001)
            task.output = `${humanSize(done)}${total === undefined ? '' : ` of ${humanSize(total)}`} at ${humanSize(done / secs)}/s`
          })
          const secs = Math.max((Date.now() - start) / 1000, 0.001)
          task.title = `${title}: done in ${secs.toFixed(1)} s`
        },
        rendererOptions: {persistentOutput: true},
      },
    ],
    {renderer, fallbackRenderer: silent ? 'silent' : 'simple', registerSignalListeners: false, exitOnError: true},
  )
  await list.run()
  return result as T
}
