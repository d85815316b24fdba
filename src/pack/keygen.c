/* nubfs-pack keygen: a fresh Ed25519 key pair as NAME.key + NAME.pub,
 * creating NAME's missing parent directories (mode 0700, as ssh-keygen
 * does for ~/.ssh) so that the man pages' ~/.config/nubfs/keys/me works on
 * a fresh home. */
#include "pack.h"
#include "sign.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* mkdir -p of NAME's directory part, new directories mode 0700. 0, or -1
 * with the message printed. */
static int make_parents(const char *name)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(name, '/');
    if (!slash || slash == name)
        return 0;
    size_t n = (size_t)(slash - name);
    if (n >= sizeof dir) {
        pack_err("keygen: %s: path too long", name);
        return -1;
    }
    memcpy(dir, name, n);
    dir[n] = '\0';
    /* Each prefix ending before a '/', then the whole directory. */
    for (size_t i = 1; i <= n; i++) {
        if (i < n && dir[i] != '/')
            continue;
        char c = dir[i];
        dir[i] = '\0';
        struct stat st;
        if (mkdir(dir, 0700) == 0) {
            fprintf(stderr, PACK_PROG ": created %s (mode 0700)\n", dir);
        } else if (errno != EEXIST || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            int e = errno == EEXIST ? ENOTDIR : errno;
            pack_err("keygen: %s: %s", dir, strerror(e));
            return -1;
        }
        dir[i] = c;
    }
    return 0;
}

int pack_cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {
        {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool force = false;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+fh", opts, NULL)) != -1) {
        switch (c) {
        case 'f': force = true; break;
        case 'h':
            puts("Usage: " PACK_PROG " keygen [--force] NAME\n"
                 "Writes NAME.key (secret, mode 0600) and NAME.pub, prints the key id;\n"
                 "missing parent directories of NAME are created with mode 0700.");
            return PACK_EXIT_OK;
        default: return pack_usage_err("keygen: unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind + 1 != argc)
        return pack_usage_err("keygen: expected exactly one NAME");
    const char *name = argv[optind];
    size_t n = strlen(name);
    if (n == 0 || (n >= 4 && (!strcmp(name + n - 4, ".key") || !strcmp(name + n - 4, ".pub"))))
        return pack_usage_err("keygen: NAME is the base name, without .key or .pub");

    if (make_parents(name) < 0)
        return PACK_EXIT_FAIL;
    struct nub_seckey key;
    if (nub_key_generate(&key) < 0) {
        pack_err("keygen: libsodium failed to initialise");
        return PACK_EXIT_FAIL;
    }
    char err[NUB_SIGN_ERR_MAX];
    int r = nub_key_write_pair(name, &key, force, err, sizeof err);
    char id[NUB_KEYID_HEX];
    nub_key_id_hex(key.pub.id, id);
    nub_seckey_wipe(&key);
    if (r < 0) {
        pack_err("keygen: %s", err);
        return PACK_EXIT_FAIL;
    }
    printf("%s\n", id);
    fprintf(stderr, PACK_PROG ": wrote %s.key and %s.pub, key id %s\n", name, name, id);
    return PACK_EXIT_OK;
}
