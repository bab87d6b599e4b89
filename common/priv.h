/*
 * Dropping root after the sockets are bound: setgroups() to the user's supplementary groups,
 * setgid(), setuid(), then a check that root cannot be regained.
 */
#ifndef DUET_COMMON_PRIV_H
#define DUET_COMMON_PRIV_H

/*
 * Switches the process (all threads: glibc's set*id apply process-wide) to user and group.
 * user NULL or "" means no drop requested: returns 0 doing nothing. group NULL or "" means
 * the user's primary group. When not running as root and user names the current uid, it is
 * a no-op success; when not root and user names another, -EPERM.
 * Returns 0 or a negative errno: -ENOENT for an unknown user or group, -EPERM when a set*id
 * call fails or setuid(0) still succeeds afterwards. Logs the reason on failure; callers
 * must exit rather than keep running as root.
 */
int dc_priv_drop(const char *user, const char *group);

#endif
