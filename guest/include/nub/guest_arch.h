/* What the guest's plain-C logic needs from the machine it runs on.
 *
 * The kernel implements these in guest/x86/ (port I/O, fault tricks); the
 * host build of the logic links guest/host/arch_host.c, which records the
 * notifications for tests instead. */
#ifndef NUB_GUEST_ARCH_H
#define NUB_GUEST_ARCH_H

#include <stdint.h>

#include "nub/abi.h"

/* New bytes are in the log ring (NUB_PORT_LOG). */
void nub_arch_log_notify(void);

/* The guest panicked; the reason is in the mailbox (NUB_PORT_ABORT). */
_Noreturn void nub_arch_abort(void);

/* Runs a misbehaving test op that needs the real machine
 * (TRIPLE_FAULT, MMIO, SSE, HANG, WRITE_CAP at gpa arg). Returns only if
 * it cannot: then it returns a status (NUB_ST_INVAL) and leaves a reason
 * in msg. */
enum nub_status nub_arch_test_op(uint32_t op, uint64_t arg, const struct nub_boot_info *bi,
                                 char *msg, uint64_t msg_cap);

#endif /* NUB_GUEST_ARCH_H */
