/**
 * libc.so.6 through koffi, required and opened once, on first use, for every module that calls
 * into it (fd passing, sd_notify, ethtool, sparse files, KVM ioctls). Each caller declares the C
 * prototypes it needs on the handle; koffi is not loaded before one of them asks.
 */
import {createRequire} from 'node:module'
import type Koffi from 'koffi'

export interface Libc {
  koffi: typeof Koffi
  lib: ReturnType<typeof Koffi.load>
}

let loaded: Libc | undefined

/** koffi and the libc handle; throws when koffi or libc cannot be loaded. */
export function libc(): Libc {
  if (!loaded) {
    const koffi = createRequire(import.meta.url)('koffi') as typeof Koffi
    loaded = {koffi, lib: koffi.load('libc.so.6')}
  }
  return loaded
}
