/** Human output: tables with cli-table3, colours with chalk. */
import Table from 'cli-table3'
import chalk from 'chalk'

export function table(head: string[], rows: Array<Array<string | number>>): string {
  const t = new Table({head: head.map((h) => chalk.bold(h)), style: {head: [], border: []}})
  for (const r of rows) t.push(r.map((c) => String(c)))
  return t.toString()
}

export function keyValues(rows: Array<[string, string | number | boolean]>): string {
  const t = new Table({style: {head: [], border: []}})
  for (const [k, v] of rows) t.push({[chalk.bold(k)]: typeof v === 'boolean' ? (v ? 'yes' : 'no') : String(v)})
  return t.toString()
}

export function colourState(state: string): string {
  if (state === 'running') return chalk.green(state)
  if (state === 'paused') return chalk.yellow(state)
  if (state === 'crashed') return chalk.red(state)
  return state
}
