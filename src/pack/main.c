/* nubfs-pack: build, sign, inspect and verify nubfs RVF packages.
 * This file only dispatches to the subcommands. */
#include "pack.h"

#include <stdio.h>
#include <string.h>

#ifndef NUB_VERSION
#define NUB_VERSION "unknown"
#endif

static void help(FILE *f)
{
    fputs("Usage: " PACK_PROG " COMMAND [ARG...]\n"
          "Build, sign, inspect and verify nubfs RVF packages.\n"
          "\n"
          "Commands:\n"
          "  keygen [--force] NAME        write NAME.key (secret, 0600) and NAME.pub;\n"
          "                               print the key id\n"
          "  build SPEC.json -o PKG.rvf [--key NAME.key | --unsigned]\n"
          "                               build a package from a JSON description\n"
          "  inspect PKG.rvf [--json] [--extract DIR]\n"
          "                               print segments, manifest and signer;\n"
          "                               --extract writes each payload as DIR/<hash>\n"
          "  verify PKG.rvf (--trust DIR | --pub FILE)...\n"
          "                               check structure, every hash and the signature\n"
          "\n"
          "Options:\n"
          "  -h, --help     show this help\n"
          "  -V, --version  show the version\n"
          "\n"
          "Exit status: 0 success, 1 failure, 2 usage error.\n"
          "See nubfs-pack(1) and nubfs-rvf(5).\n",
          f);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return pack_usage_err("missing command");
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        help(stdout);
        return PACK_EXIT_OK;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        printf(PACK_PROG " %s\n", NUB_VERSION);
        return PACK_EXIT_OK;
    }
    /* Each subcommand sees argv[0] = its own name, for getopt. */
    if (!strcmp(cmd, "keygen"))
        return pack_cmd_keygen(argc - 1, argv + 1);
    if (!strcmp(cmd, "build"))
        return pack_cmd_build(argc - 1, argv + 1);
    if (!strcmp(cmd, "inspect"))
        return pack_cmd_inspect(argc - 1, argv + 1);
    if (!strcmp(cmd, "verify"))
        return pack_cmd_verify(argc - 1, argv + 1);
    return pack_usage_err("unknown command '%s'", cmd);
}
