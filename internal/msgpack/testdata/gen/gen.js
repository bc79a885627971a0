// Golden vector generator for sioloop internal/msgpack: run in a scratch directory with notepack.io@3.0.1 and @msgpack/msgpack@3.1.3 installed.
// node gen.js <outdir>
'use strict';
const fs = require('fs');
const path = require('path');
const np = require('notepack.io');
const mp = require('@msgpack/msgpack');
const out = process.argv[2];

let seed = 0x5eed1234;
function rnd() { // mulberry32
  seed |= 0; seed = seed + 0x6D2B79F5 | 0;
  let t = Math.imul(seed ^ seed >>> 15, 1 | seed);
  t = t + Math.imul(t ^ t >>> 7, 61 | t) ^ t;
  return ((t ^ t >>> 14) >>> 0) / 4294967296;
}
const ri = n => Math.floor(rnd() * n);
const pick = a => a[ri(a.length)];
const hex = b => Buffer.from(b).toString('hex');

// socket.io-parser reconstruct with sio's integer rule for num.
function reconstruct(data, bufs) {
  if (data && data._placeholder === true) {
    const n = data.num;
    if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n < bufs.length) return bufs[n];
    throw new Error('illegal attachments');
  }
  if (Array.isArray(data)) return data.map(x => reconstruct(x, bufs));
  if (data && typeof data === 'object') {
    for (const k of Object.keys(data)) data[k] = reconstruct(data[k], bufs);
  }
  return data;
}
const isBinary = o => o instanceof ArrayBuffer || ArrayBuffer.isView(o);
// socket.io-parser deconstruct.
function deconstruct(data, bufs, toJSON) {
  if (!data) return data;
  if (isBinary(data)) { const p = { _placeholder: true, num: bufs.length }; bufs.push(data); return p; }
  if (Array.isArray(data)) return data.map(x => deconstruct(x, bufs));
  if (typeof data === 'object' && !(data instanceof Date)) {
    if (data.toJSON && typeof data.toJSON === 'function' && !toJSON) return deconstruct(data.toJSON(), bufs, true);
    const nd = {};
    for (const k in data) if (Object.prototype.hasOwnProperty.call(data, k)) nd[k] = deconstruct(data[k], bufs);
    return nd;
  }
  return data;
}

// ---- random JSON text ----
const ws = () => (rnd() < 0.15 ? pick([' ', '\n', '\t', '\r\n  ', '  ']) : '');
const chars = ['a', 'b', 'z', 'A', '0', '9', ' ', '_', '-', '/', 'é', 'ß', '€', '中', '文', '😀', '𝄞', '\u2028', '\u007f', '~'];
const escapes = ['\\n', '\\t', '\\"', '\\\\', '\\/', '\\b', '\\f', '\\r', '\\u0000', '\\u001f', '\\u00e9', '\\u20AC', '\\ud83d\\ude00', '\\uD834\\uDD1E', '\\u0041'];
function rstr(maxLen) {
  const n = rnd() < 0.85 ? ri(12) : rnd() < 0.7 ? 20 + ri(60) : 200 + ri(200);
  let s = '';
  for (let i = 0; i < Math.min(n, maxLen); i++) s += rnd() < 0.1 ? pick(escapes) : pick(chars);
  return '"' + s + '"';
}
function rnum() {
  const r = rnd();
  if (r < 0.3) return String(ri(300) - 150);
  if (r < 0.45) return String(pick([0, -0, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649, 9007199254740991, 9007199254740993, 1796153710291, 18446744073709550000, 9223372036854775807, -9223372036854775808]).toString().replace(/^0$/, pick(['0', '-0', '0.0', '0e5'])));
  if (r < 0.6) return String((rnd() - 0.5) * Math.pow(10, ri(40) - 20));
  if (r < 0.7) return pick(['1.5', '-2.25', '1e2', '1E+2', '1e-2', '-0.0', '123.456e7', '5e-324', '1.7976931348623157e308', '1e400', '-1e400', '0.1', '100000000000000000000', '1e21', '123456789012345678901234567890', '0.000001', '1e-7', '2.5e-7', '-0e-0']);
  if (r < 0.85) return String(Math.floor((rnd() - 0.5) * Math.pow(2, ri(64))));
  return String(ri(1000)) + '.' + String(ri(1000));
}
function rkey() {
  const r = rnd();
  if (r < 0.12) return '"' + pick(['0', '1', '2', '10', '4294967294', '4294967295', '01', '-1', '1.0', '007']) + '"';
  if (r < 0.2) return pick(['"a"', '"b"', '"\\u0061"', '"type"']);
  if (r < 0.25) return pick(['"__proto__"', '"constructor"', '"toString"']);
  return rstr(40);
}
function rplaceholder(natts) {
  const num = rnd() < 0.9 ? String(ri(natts)) : pick(['-1', '0.5', '"0"', '99', '1e0', '-0']);
  const parts = ['"_placeholder":true', '"num":' + num];
  if (rnd() < 0.2) parts.push('"extra":' + rnum());
  if (rnd() < 0.1) parts[0] = '"\\u005fplaceholder":true';
  if (rnd() < 0.5) parts.reverse();
  return '{' + parts.join(',') + '}';
}
function rval(depth, natts) {
  const r = rnd();
  if (depth > 5 || r < 0.3) {
    const q = rnd();
    if (q < 0.3) return rnum();
    if (q < 0.75) return rstr(100000);
    if (q < 0.85 && natts > 0) return rplaceholder(natts);
    return pick(['true', 'false', 'null']);
  }
  if (r < 0.6) {
    const n = rnd() < 0.9 ? ri(5) : 14 + ri(6);
    const a = [];
    for (let i = 0; i < n; i++) a.push(ws() + rval(depth + 1, natts) + ws());
    return '[' + a.join(',') + ']';
  }
  const n = rnd() < 0.9 ? ri(5) : 14 + ri(6);
  const a = [];
  for (let i = 0; i < n; i++) a.push(ws() + rkey() + ws() + ':' + ws() + rval(depth + 1, natts) + ws());
  return '{' + a.join(',') + '}';
}
function hasLoneSurrogate(v) {
  if (typeof v === 'string') return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(v);
  if (Array.isArray(v)) return v.some(hasLoneSurrogate);
  if (v && typeof v === 'object' && !isBinary(v)) return Object.keys(v).some(k => hasLoneSurrogate(k) || hasLoneSurrogate(v[k]));
  return false;
}
function hasHugeInt(v) { // integral outside [-2^63, 2^64): notepack wraps (documented deviation)
  if (typeof v === 'number') return Number.isFinite(v) && Math.floor(v) === v && (v >= 18446744073709551616 || v < -9223372036854775808);
  if (Array.isArray(v)) return v.some(hasHugeInt);
  if (v && typeof v === 'object' && !isBinary(v)) return Object.keys(v).some(k => hasHugeInt(v[k]));
  return false;
}
function hasBigInt53(v) {
  if (typeof v === 'number') return Number.isFinite(v) && Math.floor(v) === v && Math.abs(v) >= 9007199254740992;
  if (Array.isArray(v)) return v.some(hasBigInt53);
  if (v && typeof v === 'object' && !isBinary(v)) return Object.keys(v).some(k => hasBigInt53(v[k]));
  return false;
}

const atts = [Buffer.from([1, 2, 3]), Buffer.alloc(0), Buffer.alloc(300, 7), Buffer.alloc(40, 0xab)];
const attsHex = atts.map(hex);
const hand = [
  ['["OzpGEJ",{"type":2,"data":["news","to room1"],"nsp":"/"},{"rooms":["room1"],"except":[],"flags":{}}]', 0],
  ['["OzpGEJ",{"type":2,"data":["bin",{"_placeholder":true,"num":0},{"n":1.5,"t":true}],"nsp":"/"},{"rooms":[],"except":[],"flags":{"volatile":true,"compress":false}}]', 1],
  ['["chat",{"user":"ann","text":"hello","ts":1796153710291}]', 0],
  ['{"b":1,"a":2,"1":3,"0":4,"b":5}', 0],
  ['{"_placeholder":true,"num":0}', 1],
  ['{"num":1,"_placeholder":true,"x":[{"_placeholder":true,"num":99}]}', 2],
  ['{"_placeholder":true,"num":0,"_placeholder":false}', 1],
  ['{"_placeholder":true,"num":0}', 0],
  ['{"a":{"_placeholder":true,"num":7},"a":1}', 1],
  ['[{"_placeholder":true,"num":2},{"_placeholder":true,"num":3}]', 4],
  ['[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]', 0],
  ['{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15}', 0],
  ['"' + 'x'.repeat(31) + '"', 0], ['"' + 'x'.repeat(32) + '"', 0], ['"' + 'x'.repeat(255) + '"', 0], ['"' + 'x'.repeat(256) + '"', 0],
  ['"' + '\\n'.repeat(40) + '"', 0], ['"' + '\\u00e9'.repeat(16) + '"', 0], ['"' + 'é'.repeat(16) + '"', 0],
  ['"\\ud83d\\ude00"', 0], ['"\\u0000"', 0],
  [' \t\n\r[ 1 , 2 ]\n', 0], ['[]', 0], ['{}', 0], ['[[]]', 0], ['[{}]', 0],
  ['-0', 0], ['0', 0], ['-0.0', 0], ['1e400', 0], ['-1e400', 0], ['1e-400', 0], ['-1e-400', 0],
  ['127', 0], ['128', 0], ['255', 0], ['256', 0], ['65535', 0], ['65536', 0], ['4294967295', 0], ['4294967296', 0],
  ['-32', 0], ['-33', 0], ['-128', 0], ['-129', 0], ['-32768', 0], ['-32769', 0], ['-2147483648', 0], ['-2147483649', 0],
  ['9007199254740991', 0], ['9007199254740993', 0], ['18446744073709549568', 0], ['18446744073709551615', 0],
  ['9223372036854775807', 0], ['-9223372036854775808', 0], ['-9223372036854775809', 0], ['1796153710291', 0],
  ['1.5', 0], ['0.1', 0], ['-1.5e-7', 0], ['1E2', 0], ['1e+2', 0], ['2.5e1', 0],
  ['{"__proto__":{"x":1}}', 0], ['{"4294967294":1,"4294967295":2,"1":3}', 0],
];
const enc = [];
function addEnc(text, natts) {
  const a = atts.slice(0, natts);
  let want = null, err = null;
  try {
    const v = JSON.parse(text);
    if (hasLoneSurrogate(v) || hasHugeInt(v)) return false;
    // socket.io reconstructs binary packets only (here: those with attachments).
    want = hex(np.encode(natts > 0 ? reconstruct(v, a) : v));
  } catch (e) { err = e.message; }
  enc.push({ json: text, atts: natts, msgpack: want, error: err });
  return true;
}
for (const [t, n] of hand) addEnc(t, n);
for (let i = 0; enc.length < 450 && i < 5000; i++) {
  const natts = rnd() < 0.4 ? 1 + ri(4) : 0;
  const t = rval(0, natts);
  if (t.length > 3000) continue;
  addEnc(t, natts);
}
// Invalid JSON (error expected).
for (const t of ['', ' ', '[', '[1,]', '{"a":1,}', '{"a"}', '{a:1}', '01', '-', '1.', '.5', '+1', '1e', '1e+', '"\\x"', '"\\u12"', '"\\u12G4"', '"a', '"\t"', 'tru', 'nul', 'True', 'NaN', 'Infinity', '[1 2]', '{"a":1 "b":2}', '1 2', '[]]', '"\\"', "'a'", '{"a":1}}'])
  addEnc(t, 0);

// ---- decode vectors ----
const dec = [];
function jsonOf(buf) {
  try {
    const v = np.decode(buf);
    const bufs = [];
    const j = JSON.stringify(deconstruct(v, bufs));
    return { json: j === undefined ? 'null' : j, atts: bufs.map(b => hex(Buffer.from(b instanceof ArrayBuffer ? new Uint8Array(b) : b))) };
  } catch (e) { return { error: e.message }; }
}
function msgpackJSON(buf) {
  try {
    const v = mp.decode(buf);
    const bufs = [];
    return JSON.stringify(deconstruct(v, bufs));
  } catch (e) { return 'ERROR ' + e.message; }
}
function addDec(buf, src) {
  const r = jsonOf(buf);
  let lossy = false;
  try { lossy = hasBigInt53(np.decode(buf)); } catch (e) { }
  const m = msgpackJSON(buf);
  dec.push({ msgpack: hex(buf), src, lossy: !!lossy, json: r.json, atts: r.atts, error: r.error, msgpackjs: m === r.json });
}
for (const e of enc) {
  if (!e.msgpack) continue;
  addDec(Buffer.from(e.msgpack, 'hex'), 'notepack');
  const v = JSON.parse(e.json);
  const m2 = Buffer.from(mp.encode(e.atts > 0 ? reconstruct(v, atts.slice(0, e.atts)) : v));
  if (!m2.equals(Buffer.from(e.msgpack, 'hex'))) addDec(m2, 'msgpackjs');
}
// Dates through both encoders, and float32.
const dates = [0, 1, -1, 999, -999, 1796153710291, 4294967295000, 4294967296000, 17179869183999, 17179869184000, -62167219200000, -62167219200001,
  253402300799999, 253402300800000, 8.64e15, -8.64e15, -1e12, 1.5, 951782400000, 1e14 + 123];
for (const t of dates) {
  addDec(np.encode([new Date(t)]), 'notepack-date');
  addDec(Buffer.from(mp.encode({ d: new Date(t) })), 'msgpackjs-date');
}
for (const f of [0.1, 1.5, -0, 3.4028234663852886e38, 1e-45, 16777217, NaN, Infinity, 0.3333333432674408, 123456.789]) {
  addDec(Buffer.from(mp.encode(f, { forceFloat32: true })), 'float32');
}
const handDec = [
  'd6ff00000000', 'd7ff0000000000000000', 'c70cff000000000000000000000000', 'c70cff3b9ac9ffffffffffffffffff',
  'c70cff00000001ffffffffffffffff', 'c70cff0000000080000000000000ff', 'c70cff000000007fffffffffffffff',
  'd7ffffffffffffffffff', 'd70000000000ffffffff', 'd700fffffffffff0bdc0', 'd40000', '92d40001', '82a161d40000a16201', 'c70300010203', 'c80003000102',
  'd50501ff', 'd60501020304', 'c7020a0102', 'c4000000', 'c5000401020304', 'c600000002abcd',
  'cf0020000000000001', 'cfffffffffffffffff', 'd38000000000000000', 'd3ffffffffffffffff', 'ceffffffff', 'd280000000', 'cb7ff8000000000000', 'cbfff0000000000000', 'cb8000000000000000',
  'ca7fc00000', 'ca7f800000', 'a3e28241', 'a2ff41', 'a3eda080', 'a4f0908080', 'a4f4908080', 'a2c0af', 'a4e0808f41', 'a3f09f98', 'a1e9', 'a0', 'a11f', 'a17f', 'a3e280a8',
  '81c0c0', '81c3c0', '81c2c0', '8101c0', '81ff02', '81cb3ff8000000000000c0', '81cbfff0000000000000c0', '81cb7ff8000000000000c0', '81cf0020000000000001c0',
  '82a5__pro' /*placeholder replaced below*/, 'c0', 'c2', 'c3', '90', '80', 'dc0000', 'de0000', 'dd00000001c0', 'df00000001a0c0',
  'd9026869', 'da00026869', 'db000000026869',
];
for (let h of handDec) {
  if (h.startsWith('82a5__pro')) h = hex(Buffer.concat([Buffer.from([0x82, 0xa9]), Buffer.from('__proto__'), Buffer.from([0x81, 0xa1, 0x78, 0x01, 0xa1, 0x79, 0x02])]));
  if (h.length % 2) continue;
  addDec(Buffer.from(h, 'hex'), 'hand');
}

// ---- JS number formatting ----
const nums = [];
const f64 = new Float64Array(1), u32 = new Uint32Array(f64.buffer);
const special = [0, -0, 1, -1, 0.1, 0.2, 0.3, 1 / 3, 1e21, 1e20, 123456789012345680000, 1e-6, 1e-7, 1.5e-7, 5e-324, 1.7976931348623157e308,
  2 ** 53, 2 ** 53 + 2, 2 ** 60, 2 ** 64, 2 ** 63, -(2 ** 63), 9007199254740993, 1e300, 1.2345678901234567e-300, 100, 1e15, 1e16, 1e17, 0.000001234, 0.0000001234, 123e-20, 4.35, 0.5e-6];
for (const x of special) nums.push(x);
for (let i = 0; i < 3000; i++) {
  const r = rnd();
  if (r < 0.5) { u32[0] = ri(4294967296); u32[1] = ri(4294967296); const x = f64[0]; if (Number.isFinite(x)) nums.push(x); }
  else if (r < 0.8) nums.push((rnd() - 0.5) * Math.pow(10, ri(50) - 25));
  else nums.push(Math.round(rnd() * 10 ** ri(25)) / 10 ** ri(10));
}
const numLines = nums.map(x => { f64[0] = x; return u32[1].toString(16).padStart(8, '0') + u32[0].toString(16).padStart(8, '0') + ' ' + String(x); });

// ---- dates ----
const dateLines = [];
const dms = [...dates, 8.64e15 + 1, -8.64e15 - 1, -1.5, 2.9];
for (let i = 0; i < 500; i++) dms.push(Math.floor((rnd() - 0.5) * 2 * 8.64e15 * (rnd() < 0.5 ? 1 : 0.0001)));
for (const t of dms) dateLines.push(String(t) + ' ' + JSON.stringify(new Date(t)));

// ---- invalid UTF-8 ----
const utf = [];
const pieces = ['41', 'e2', '82', 'ac', 'ff', 'c0', 'af', 'ed', 'a0', '80', 'f0', '90', 'f4', '8f', 'bf', 'e0', 'c2', 'f5', 'fe', '7f', '00', '22', '5c', 'ef', 'bb'];
for (let i = 0; i < 400; i++) {
  let h = ''; const n = 1 + ri(8);
  for (let j = 0; j < n; j++) h += pick(pieces);
  const b = Buffer.from(h, 'hex');
  utf.push({ in: h, json: JSON.stringify(b.toString('utf8')), td: JSON.stringify(new TextDecoder().decode(b)) });
}

const lines = a => '[\n' + a.map(x => JSON.stringify(x)).join(',\n') + '\n]\n';
fs.writeFileSync(path.join(out, 'notepack_encode.json'), '{"atts":' + JSON.stringify(attsHex) + ',\n"cases":' + lines(enc) + '}\n');
fs.writeFileSync(path.join(out, 'notepack_decode.json'), lines(dec));
fs.writeFileSync(path.join(out, 'js_numbers.txt'), numLines.join('\n') + '\n');
fs.writeFileSync(path.join(out, 'js_dates.txt'), dateLines.join('\n') + '\n');
fs.writeFileSync(path.join(out, 'utf8_replace.json'), lines(utf));
console.log('enc', enc.length, 'dec', dec.length, 'nums', nums.length, 'dates', dateLines.length, 'utf', utf.length);
