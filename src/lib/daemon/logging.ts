/** Daemon log lines on stderr: timestamp, pid, level, message. Level 1 debug .. 4 error (libvirt's). */

import type {LogSink} from '../drivers/types.js'

export type {LogSink}

export type LogLevel = 1 | 2 | 3 | 4

const NAMES = ['', 'debug', 'info', 'warning', 'error']

export class Logger implements LogSink {
  constructor(
    public level: LogLevel = 3,
    private readonly sink: (line: string) => void = (l) => process.stderr.write(l),
  ) {}

  private out(level: LogLevel, msg: string): void {
    if (level < this.level) return
    this.sink(`${new Date().toISOString()}: ${process.pid}: ${NAMES[level]} : ${msg}\n`)
  }

  debug(msg: string): void {
    this.out(1, msg)
  }

  info(msg: string): void {
    this.out(2, msg)
  }

  warn(msg: string): void {
    this.out(3, msg)
  }

  error(msg: string): void {
    this.out(4, msg)
  }
}
