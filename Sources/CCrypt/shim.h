// SPDX-License-Identifier: BSD-2-Clause
// libxcrypt's crypt_rn, for checking the bcrypt hashes of a web
// configuration file's basic_auth_users.
#ifndef SWIFTBPF_CCRYPT_SHIM_H
#define SWIFTBPF_CCRYPT_SHIM_H
#include <crypt.h>
#include <stdlib.h>
#include <string.h>

/* 1 when `password` hashes to `hash` (bcrypt, $2a$/$2b$/$2y$), else 0.
   The comparison takes the same time wherever the hashes differ. */
static inline int swiftbpf_bcrypt_matches(const char *password, const char *hash) {
    if (strncmp(hash, "$2a$", 4) != 0 && strncmp(hash, "$2b$", 4) != 0 && strncmp(hash, "$2y$", 4) != 0) return 0;
    struct crypt_data *data = calloc(1, sizeof *data);
    if (!data) return 0;
    int ok = 0;
    const char *out = crypt_rn(password, hash, data, (int)sizeof *data);
    size_t n = strlen(hash);
    if (out && out[0] != '*' && strlen(out) == n) {
        unsigned char diff = 0;
        for (size_t i = 0; i < n; i++) diff |= (unsigned char)(out[i] ^ hash[i]);
        ok = diff == 0;
    }
    explicit_bzero(data, sizeof *data);
    free(data);
    return ok;
}
#endif
