/**
 * A driver's typed parameter (statistics, tunables, job figures: a field name, a kind and a value)
 * as virTypedParameter on the wire.
 */
import {TypedParamType, type TypedParam} from '../../rpc/codec.js'

const WIRE_TYPE = {
  int: TypedParamType.INT,
  uint: TypedParamType.UINT,
  llong: TypedParamType.LLONG,
  ullong: TypedParamType.ULLONG,
  double: TypedParamType.DOUBLE,
  boolean: TypedParamType.BOOLEAN,
  string: TypedParamType.STRING,
} as const

export interface DriverParam {
  field: string
  type: keyof typeof WIRE_TYPE
  value: number | bigint | string | boolean
}

export function paramToWire(p: DriverParam): TypedParam {
  const type = WIRE_TYPE[p.type]
  switch (type) {
    case TypedParamType.INT:
    case TypedParamType.UINT:
    case TypedParamType.DOUBLE:
      return {field: p.field, type, value: Number(p.value)}
    case TypedParamType.LLONG:
    case TypedParamType.ULLONG:
      return {field: p.field, type, value: BigInt(p.value)}
    case TypedParamType.BOOLEAN:
      return {field: p.field, type, value: Boolean(p.value)}
    case TypedParamType.STRING:
      return {field: p.field, type, value: String(p.value)}
  }
}
