# Independent pure-Python reference for tests/vectors/keys.txt (see README.md).
# Not used by the build; run with python3 to print the vectors.
import hashlib, hmac
p = 2**256 - 2**32 - 977
n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
G = (0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
     0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8)
def add(P, Q):
    if P is None: return Q
    if Q is None: return P
    if P[0] == Q[0] and (P[1] + Q[1]) % p == 0: return None
    if P == Q: l = 3*P[0]*P[0] * pow(2*P[1], -1, p) % p
    else: l = (Q[1]-P[1]) * pow(Q[0]-P[0], -1, p) % p
    x = (l*l - P[0] - Q[0]) % p
    return (x, (l*(P[0]-x) - P[1]) % p)
def mul(k, P):
    R = None
    while k:
        if k & 1: R = add(R, P)
        P = add(P, P); k >>= 1
    return R
def comp(P): return bytes([2 + (P[1] & 1)]) + P[0].to_bytes(32, 'big')
def b2(b): return hashlib.blake2b(b, digest_size=32).digest()
A = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
def b58(b):
    x = int.from_bytes(b, 'big'); s = ''
    while x: x, r = divmod(x, 58); s = A[r] + s
    return '1' * (len(b) - len(b.lstrip(b'\0'))) + s
def rfc6979(d, h):
    x = d.to_bytes(32, 'big'); m = (int.from_bytes(h, 'big') % n).to_bytes(32, 'big')
    V = b'\x01'*32; K = b'\x00'*32
    K = hmac.new(K, V + b'\x00' + x + m, 'sha256').digest(); V = hmac.new(K, V, 'sha256').digest()
    K = hmac.new(K, V + b'\x01' + x + m, 'sha256').digest(); V = hmac.new(K, V, 'sha256').digest()
    while True:
        V = hmac.new(K, V, 'sha256').digest(); k = int.from_bytes(V, 'big')
        if 1 <= k < n: return k
        K = hmac.new(K, V + b'\x00', 'sha256').digest(); V = hmac.new(K, V, 'sha256').digest()
def sign(d, h):
    k = rfc6979(d, h); R = mul(k, G); r = R[0] % n
    s = pow(k, -1, n) * (int.from_bytes(h, 'big') + r*d) % n
    v = (R[1] & 1) | (2 if R[0] >= n else 0)
    if s > n // 2: s = n - s; v ^= 1
    return r.to_bytes(32,'big') + s.to_bytes(32,'big') + bytes([v])
for name, d in [('one', 1), ('ones', int.from_bytes(bytes([1])*32, 'big'))]:
    pk = comp(mul(d, G)); a = b2(pk)[:20]
    print(name, 'pk', pk.hex()); print(name, 'addr', a.hex(), 'T' + b58(a + b2(a)[:4]))
print('satoshi', sign(1, hashlib.sha256(b'Satoshi Nakamoto').digest()).hex())
for msg in [b'', b'abc', b'tau']:
    print('sign ones blake2b', msg, sign(int.from_bytes(bytes([1])*32,'big'), b2(msg)).hex())
