/**
 * Key codes for virDomainSendKey (shared by the drivers and the CLI): libvirt's code sets (virKeycodeSet), each translated through
 * Linux input key codes to the "qnum" numbers QEMU's `send-key` takes (XT scan codes, extended
 * keys with the high bit set). Linux names (KEY_A, ...) are what virsh and vctl send-key accept.
 */

/** virKeycodeSet. */
export const KeycodeSet = {LINUX: 0, XT: 1, ATSET1: 2, ATSET2: 3, ATSET3: 4, OSX: 5, XT_KBD: 6, USB: 7, WIN32: 8, QNUM: 9} as const
export const CODESET_NAMES = ['linux', 'xt', 'atset1', 'atset2', 'atset3', 'os_x', 'xt_kbd', 'usb', 'win32', 'qnum'] as const

/** [Linux name, Linux code, qnum]: codes 1..83 are the XT set 1 scan codes themselves. */
const LINUX_KEYS: Array<[string, number, number]> = []
const BASIC =
  'ESC 1 2 3 4 5 6 7 8 9 0 MINUS EQUAL BACKSPACE TAB Q W E R T Y U I O P LEFTBRACE RIGHTBRACE ENTER LEFTCTRL A S D F G H J K L ' +
  'SEMICOLON APOSTROPHE GRAVE LEFTSHIFT BACKSLASH Z X C V B N M COMMA DOT SLASH RIGHTSHIFT KPASTERISK LEFTALT SPACE CAPSLOCK ' +
  'F1 F2 F3 F4 F5 F6 F7 F8 F9 F10 NUMLOCK SCROLLLOCK KP7 KP8 KP9 KPMINUS KP4 KP5 KP6 KPPLUS KP1 KP2 KP3 KP0 KPDOT'
BASIC.split(' ').forEach((n, i) => LINUX_KEYS.push([`KEY_${n}`, i + 1, i + 1]))
const EXTENDED: Array<[string, number, number]> = [
  ['ZENKAKUHANKAKU', 85, 0x76],
  ['102ND', 86, 0x56],
  ['F11', 87, 0x57],
  ['F12', 88, 0x58],
  ['RO', 89, 0x73],
  ['KATAKANA', 90, 0x78],
  ['HIRAGANA', 91, 0x77],
  ['HENKAN', 92, 0x79],
  ['KATAKANAHIRAGANA', 93, 0x70],
  ['MUHENKAN', 94, 0x7b],
  ['KPJPCOMMA', 95, 0x5c],
  ['KPENTER', 96, 0x9c],
  ['RIGHTCTRL', 97, 0x9d],
  ['KPSLASH', 98, 0xb5],
  ['SYSRQ', 99, 0x54],
  ['RIGHTALT', 100, 0xb8],
  ['HOME', 102, 0xc7],
  ['UP', 103, 0xc8],
  ['PAGEUP', 104, 0xc9],
  ['LEFT', 105, 0xcb],
  ['RIGHT', 106, 0xcd],
  ['END', 107, 0xcf],
  ['DOWN', 108, 0xd0],
  ['PAGEDOWN', 109, 0xd1],
  ['INSERT', 110, 0xd2],
  ['DELETE', 111, 0xd3],
  ['MUTE', 113, 0xa0],
  ['VOLUMEDOWN', 114, 0xae],
  ['VOLUMEUP', 115, 0xb0],
  ['POWER', 116, 0xde],
  ['KPEQUAL', 117, 0x59],
  ['PAUSE', 119, 0xc6],
  ['KPCOMMA', 121, 0x7e],
  ['YEN', 124, 0x7d],
  ['LEFTMETA', 125, 0xdb],
  ['RIGHTMETA', 126, 0xdc],
  ['COMPOSE', 127, 0xdd],
  ['SLEEP', 142, 0xdf],
  ['WAKEUP', 143, 0xe3],
  ['F13', 183, 0x5d],
  ['F14', 184, 0x5e],
  ['F15', 185, 0x5f],
]
for (const [n, l, q] of EXTENDED) LINUX_KEYS.push([`KEY_${n}`, l, q])

const LINUX_TO_QNUM = new Map(LINUX_KEYS.map(([, l, q]) => [l, q]))
const QNUM_TO_LINUX = new Map(LINUX_KEYS.map(([, l, q]) => [q, l]))
const NAME_TO_LINUX = new Map(LINUX_KEYS.map(([n, l]) => [n, l]))
const linuxOf = (name: string) => NAME_TO_LINUX.get(`KEY_${name}`) ?? -1

/** USB HID usages (keyboard page) -> Linux. */
const USB_TO_LINUX = new Map<number, number>()
'A B C D E F G H I J K L M N O P Q R S T U V W X Y Z 1 2 3 4 5 6 7 8 9 0 ENTER ESC BACKSPACE TAB SPACE MINUS EQUAL LEFTBRACE RIGHTBRACE BACKSLASH - SEMICOLON APOSTROPHE GRAVE COMMA DOT SLASH CAPSLOCK F1 F2 F3 F4 F5 F6 F7 F8 F9 F10 F11 F12 SYSRQ SCROLLLOCK PAUSE INSERT HOME PAGEUP DELETE END PAGEDOWN RIGHT LEFT DOWN UP NUMLOCK KPSLASH KPASTERISK KPMINUS KPPLUS KPENTER KP1 KP2 KP3 KP4 KP5 KP6 KP7 KP8 KP9 KP0 KPDOT 102ND COMPOSE POWER KPEQUAL F13 F14 F15'
  .split(' ')
  .forEach((n, i) => {
    if (n !== '-') USB_TO_LINUX.set(i + 4, linuxOf(n))
  })
'LEFTCTRL LEFTSHIFT LEFTALT LEFTMETA RIGHTCTRL RIGHTSHIFT RIGHTALT RIGHTMETA'.split(' ').forEach((n, i) => USB_TO_LINUX.set(0xe0 + i, linuxOf(n)))

/** Windows virtual-key codes -> Linux. */
const WIN32_TO_LINUX = new Map<number, number>()
for (let c = 0; c < 26; c++) WIN32_TO_LINUX.set(0x41 + c, linuxOf(String.fromCharCode(0x41 + c)))
for (let c = 0; c < 10; c++) WIN32_TO_LINUX.set(0x30 + c, linuxOf(String(c)))
for (let c = 0; c < 12; c++) WIN32_TO_LINUX.set(0x70 + c, linuxOf(`F${c + 1}`))
const WIN32_MORE: Array<[number, string]> = [
  [0x08, 'BACKSPACE'],
  [0x09, 'TAB'],
  [0x0d, 'ENTER'],
  [0x10, 'LEFTSHIFT'],
  [0x11, 'LEFTCTRL'],
  [0x12, 'LEFTALT'],
  [0x13, 'PAUSE'],
  [0x14, 'CAPSLOCK'],
  [0x1b, 'ESC'],
  [0x20, 'SPACE'],
  [0x21, 'PAGEUP'],
  [0x22, 'PAGEDOWN'],
  [0x23, 'END'],
  [0x24, 'HOME'],
  [0x25, 'LEFT'],
  [0x26, 'UP'],
  [0x27, 'RIGHT'],
  [0x28, 'DOWN'],
  [0x2c, 'SYSRQ'],
  [0x2d, 'INSERT'],
  [0x2e, 'DELETE'],
  [0x5b, 'LEFTMETA'],
  [0x5c, 'RIGHTMETA'],
  [0x90, 'NUMLOCK'],
  [0x91, 'SCROLLLOCK'],
  [0xa0, 'LEFTSHIFT'],
  [0xa1, 'RIGHTSHIFT'],
  [0xa2, 'LEFTCTRL'],
  [0xa3, 'RIGHTCTRL'],
  [0xa4, 'LEFTALT'],
  [0xa5, 'RIGHTALT'],
]
for (const [v, n] of WIN32_MORE) WIN32_TO_LINUX.set(v, linuxOf(n))

/** The Linux code of `code` in `codeset`, or -1 when the set has no such key (or vctl lacks the set's table). */
export function toLinux(codeset: number, code: number): number {
  switch (codeset) {
    case KeycodeSet.LINUX:
      return LINUX_TO_QNUM.has(code) ? code : -1
    case KeycodeSet.XT:
      return code < 0x80 ? (QNUM_TO_LINUX.get(code) ?? -1) : -1
    case KeycodeSet.QNUM:
      return QNUM_TO_LINUX.get(code) ?? -1
    case KeycodeSet.XT_KBD:
      return QNUM_TO_LINUX.get(code >= 0x100 ? 0x80 | (code & 0x7f) : code) ?? -1
    case KeycodeSet.ATSET1:
      return QNUM_TO_LINUX.get(code >= 0xe000 ? 0x80 | (code & 0x7f) : code) ?? -1
    case KeycodeSet.USB:
      return USB_TO_LINUX.get(code) ?? -1
    case KeycodeSet.WIN32:
      return WIN32_TO_LINUX.get(code) ?? -1
    default:
      return -1
  }
}

/** QEMU's number of `code` in `codeset`, or -1. */
export function toQnum(codeset: number, code: number): number {
  const l = toLinux(codeset, code)
  return l < 0 ? -1 : (LINUX_TO_QNUM.get(l) ?? -1)
}

/** The Linux code of a name (KEY_A, or A), or of a number; -1 when neither. */
export function linuxKeyFromString(s: string): number {
  const byName = NAME_TO_LINUX.get(s.toUpperCase().startsWith('KEY_') ? s.toUpperCase() : `KEY_${s.toUpperCase()}`)
  if (byName !== undefined) return byName
  return /^\d+$/.test(s) ? Number(s) : -1
}
