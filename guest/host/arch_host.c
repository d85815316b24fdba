/* The "machine" under the host build of the guest logic: guest memory is a
 * buffer the caller installs, port writes are counted, and a panic goes to
 * a hook (tests longjmp out of it) or abort(). */
#include <stdlib.h>

#include "nub/guest_addr.h"
#include "nub/guest_arch.h"
#include "nub/guest_host.h"
#include "nub/guest_log.h"

uint8_t *nub_mem_host_base;
unsigned long nub_host_log_notifies;
void (*nub_host_abort_hook)(void);

void nub_arch_log_notify(void) { nub_host_log_notifies++; }

_Noreturn void nub_arch_abort(void)
{
    if (nub_host_abort_hook)
        nub_host_abort_hook();
    abort();
}

enum nub_status nub_arch_test_op(uint32_t op, uint64_t arg, const struct nub_boot_info *bi,
                                 char *msg, uint64_t msg_cap)
{
    (void)arg;
    (void)bi;
    nub_fmt(msg, msg_cap, "test op 0x%x needs the real guest", op);
    return NUB_ST_INVAL;
}
