#!/usr/bin/env python3
"""Mint an RS256 JWT for benchmarks, and write the matching public key for the server.

Python's standard library has no RSA, so signing goes through the `openssl` command line
(PKCS#1 v1.5 over SHA-256 is exactly RS256); no pip package is needed.

    python3 benches/scripts/mint-token.py --key /tmp/b-auth/jwt-key.pem \
        --issuer https://idp.bench --audience vizier --kid bench \
        --public-pem-out /tmp/b-auth/jwt-public.pem --jwks-out /tmp/b-auth/jwks.json

prints the token on stdout. Make the key with
`openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out key.pem`.
Benchmark use only: the token lives for a day by default and names whichever user you ask.
"""

import argparse
import base64
import json
import re
import subprocess
import sys
import time
import uuid


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def openssl(*args: str, data: bytes | None = None) -> bytes:
    try:
        return subprocess.run(
            ["openssl", *args], input=data, capture_output=True, check=True
        ).stdout
    except FileNotFoundError:
        sys.exit("mint-token: the openssl command is needed (apt-get install openssl)")
    except subprocess.CalledProcessError as e:
        sys.exit(f"mint-token: openssl {args[0]} failed: {e.stderr.decode(errors='replace').strip()}")


def rsa_public_numbers(key: str) -> tuple[bytes, bytes]:
    """The modulus and public exponent of the RSA key in `key`, big-endian bytes."""
    modulus = openssl("rsa", "-in", key, "-noout", "-modulus").decode().strip()
    n = bytes.fromhex(modulus.split("=", 1)[1])
    text = openssl("rsa", "-in", key, "-noout", "-text").decode()
    match = re.search(r"publicExponent: (\d+)", text)
    if not match:
        sys.exit("mint-token: could not read the public exponent (is this an RSA key?)")
    e = int(match.group(1))
    return n, e.to_bytes((e.bit_length() + 7) // 8, "big")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--key", required=True, help="RSA private key, PEM (PKCS#8 or PKCS#1)")
    p.add_argument("--issuer", required=True, help="the iss claim (auth.jwt.issuers)")
    p.add_argument("--audience", required=True, help="the aud claim (auth.jwt.audience)")
    p.add_argument("--kid", default="bench", help="key id in the header and the JWKS")
    p.add_argument("--user", default="admin", help="preferred_username (must exist in vizier)")
    p.add_argument("--ttl", type=int, default=86400, help="seconds until exp")
    p.add_argument("--scope", default="", help="space-separated scopes (empty: none, all tools)")
    p.add_argument("--public-pem-out", help="write the public key here (auth.jwt.public_key_pem)")
    p.add_argument("--jwks-out", help="write a one-key JWKS here (to serve for auth.jwt.jwks_uri)")
    args = p.parse_args()

    now = int(time.time())
    header = {"alg": "RS256", "typ": "JWT", "kid": args.kid}
    claims = {
        "iss": args.issuer,
        "aud": args.audience,
        "sub": f"bench-{args.user}",
        "preferred_username": args.user,
        "iat": now,
        "exp": now + args.ttl,
        "jti": str(uuid.uuid4()),
    }
    if args.scope:
        claims["scope"] = args.scope
    signing_input = ".".join(
        b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    ).encode("ascii")
    signature = openssl("dgst", "-sha256", "-sign", args.key, data=signing_input)

    if args.public_pem_out:
        with open(args.public_pem_out, "wb") as f:
            f.write(openssl("pkey", "-in", args.key, "-pubout"))
    if args.jwks_out:
        n, e = rsa_public_numbers(args.key)
        jwk = {"kty": "RSA", "kid": args.kid, "use": "sig", "alg": "RS256",
               "n": b64url(n), "e": b64url(e)}
        with open(args.jwks_out, "w") as f:
            json.dump({"keys": [jwk]}, f)
    print(f"{signing_input.decode()}.{b64url(signature)}")


if __name__ == "__main__":
    main()
