"""Writes a JSON-lines file of AddHumanUser bodies, one per user, whose `hashedPassword`s are
made by reference implementations (passlib, pyca bcrypt, argon2-cffi, hashlib), cycling through
every hash format ZITADEL accepts for an import. User i's password is `Imported-{i}-Passw0rd!`.

Usage: make_users.py ORG_ID COUNT OUT_FILE
"""

import base64
import hashlib
import json
import os
import sys

import argon2
import bcrypt
from passlib import hash as passlib


def md5_salted(password: str, prefix: bool) -> str:
    salt = base64.b64encode(os.urandom(9)).decode()
    data = (salt + password) if prefix else (password + salt)
    digest = base64.b64encode(hashlib.md5(data.encode()).digest()).decode()
    return f"$md5salted-{'prefix' if prefix else 'suffix'}${salt}${digest}"


def bcrypt_hash(password: str, prefix: bytes) -> str:
    made = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4, prefix=prefix)).decode()
    return made


# Low costs: the test checks formats, not strength.
FORMATS = {
    "argon2id": lambda p: argon2.PasswordHasher(
        time_cost=1, memory_cost=256, parallelism=1, type=argon2.Type.ID
    ).hash(p),
    "argon2i": lambda p: argon2.PasswordHasher(
        time_cost=1, memory_cost=256, parallelism=1, type=argon2.Type.I
    ).hash(p),
    "bcrypt-2a": lambda p: bcrypt_hash(p, b"2a"),
    "bcrypt-2b": lambda p: bcrypt_hash(p, b"2b"),
    # $2y$ is PHP's name for $2b$: the same hash, relabelled (as PHP's password_hash writes it).
    "bcrypt-2y": lambda p: "$2y$" + bcrypt_hash(p, b"2b")[4:],
    "scrypt": lambda p: passlib.scrypt.using(rounds=4).hash(p),
    "pbkdf2-sha1": lambda p: passlib.pbkdf2_sha1.using(rounds=1000).hash(p),
    "pbkdf2-sha256": lambda p: passlib.pbkdf2_sha256.using(rounds=1000).hash(p),
    "pbkdf2-sha512": lambda p: passlib.pbkdf2_sha512.using(rounds=1000).hash(p),
    "sha256-crypt": lambda p: passlib.sha256_crypt.using(rounds=1000).hash(p),
    "sha512-crypt": lambda p: passlib.sha512_crypt.using(rounds=1000).hash(p),
    "sha512-crypt-default-rounds": lambda p: passlib.sha512_crypt.using(rounds=5000)
    .hash(p)
    .replace("rounds=5000$", ""),
    "md5-crypt": lambda p: passlib.md5_crypt.hash(p),
    "md5-plain": lambda p: hashlib.md5(p.encode()).hexdigest(),
    "md5salted-prefix": lambda p: md5_salted(p, True),
    "md5salted-suffix": lambda p: md5_salted(p, False),
    "phpass-P": lambda p: passlib.phpass.using(rounds=8).hash(p),
    "phpass-H": lambda p: passlib.phpass.using(rounds=8, ident="H").hash(p),
}


def main() -> None:
    org, count, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    names = list(FORMATS)
    with open(out, "w", encoding="utf-8") as file:
        for i in range(count):
            password = f"Imported-{i}-Passw0rd!"
            name = names[i % len(names)]
            body = {
                "userId": f"{900000000000000000 + i}",
                "username": f"imported{i}",
                "organization": {"orgId": org},
                "profile": {"givenName": "Imported", "familyName": f"User {i}"},
                "email": {"email": f"imported{i}@example.com", "isVerified": True},
                "hashedPassword": {"hash": FORMATS[name](password), "changeRequired": False},
            }
            file.write(json.dumps(body) + "\n")
    print(len(names))


if __name__ == "__main__":
    main()
