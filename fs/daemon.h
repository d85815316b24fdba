/* Fork-before-boot daemonizing (see daemon.c). */
#ifndef NUBFS_DAEMON_H
#define NUBFS_DAEMON_H

/* In the child: returns the ready fd (>= 0). The parent never returns: it
 * exits 0 once the child is ready, else with the child's status.
 * -errno if fork fails. */
int nubfs_daemon_fork(void);
/* Child: detach stdio, chdir /, release the parent. */
void nubfs_daemon_ready(int fd);
/* Tells a service manager (systemd Type=notify, $NOTIFY_SOCKET) how we
 * are: "READY=1", "RELOADING=1", "STOPPING=1", "STATUS=..."; nothing
 * when nubfs was not started by one. */
void nubfs_service_notify(const char *state);

#endif
