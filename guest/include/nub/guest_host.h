/* Host build only: the knobs that guest/host/arch_host.c gives tests in
 * place of the machine (ports, aborts). */
#ifndef NUB_GUEST_HOST_H
#define NUB_GUEST_HOST_H

/* Number of NUB_PORT_LOG notifications so far. */
extern unsigned long nub_host_log_notifies;

/* Called by nub_arch_abort() (a guest panic); it must not return (tests
 * longjmp out of it). When NULL, a panic calls abort(). */
extern void (*nub_host_abort_hook)(void);

#endif /* NUB_GUEST_HOST_H */
