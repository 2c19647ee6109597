/** listr2 progress for a long call that runs as a domain job (a migration): the job's line, polled, until the call returns. */
type RendererName = 'default' | 'simple' | 'silent'

export async function withJobProgress<T>(
  title: string,
  silent: boolean,
  work: () => Promise<T>,
  poll: () => Promise<string | undefined>,
): Promise<T> {
  const {Listr} = await import('listr2')
  const renderer: RendererName = silent ? 'silent' : process.stdout.isTTY ? 'default' : 'simple'
  let result: T | undefined
  const start = Date.now()
  const list = new Listr<unknown, RendererName, 'simple' | 'silent'>(
    [
      {
        title,
        task: async (_ctx, task) => {
          let done = false
          const ticker = (async () => {
            while (!done) {
              await new Promise((r) => setTimeout(r, 500))
              if (done) break
              const line = await poll().catch(() => undefined)
              if (line && !done) task.output = line
            }
          })()
          try {
            result = await work()
          } finally {
            done = true
            await ticker
          }
          task.title = `${title}: done in ${((Date.now() - start) / 1000).toFixed(1)} s`
        },
        rendererOptions: {persistentOutput: true},
      },
    ],
    {renderer, fallbackRenderer: silent ? 'silent' : 'simple', registerSignalListeners: false, exitOnError: true},
  )
  await list.run()
  return result as T
}
