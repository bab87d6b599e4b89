#include "common/priv.h"

#include "common/log.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/*
 * The _r lookups with a growing heap buffer: the size sysconf() suggests is only a hint,
 * and a group with many members can exceed it (ERANGE). The non-_r versions would work at
 * start-up too, but their static buffer is one more thing to reason about.
 */
static int
lookup_user(const char *name, uid_t *uid, gid_t *gid)
{
    size_t size = 1024;
    for (;;) {
        char *buf = malloc(size);
        if (buf == NULL)
            return -ENOMEM;
        struct passwd pw, *res = NULL;
        int rc = getpwnam_r(name, &pw, buf, size, &res);
        if (rc == 0 && res != NULL) {
            *uid = pw.pw_uid;
            *gid = pw.pw_gid;
        }
        free(buf);
        if (rc == ERANGE && size < (1u << 20)) {
            size *= 4;
            continue;
        }
        if (rc != 0)
            return -rc;
        return res != NULL ? 0 : -ENOENT;
    }
}

static int
lookup_group(const char *name, gid_t *gid)
{
    size_t size = 1024;
    for (;;) {
        char *buf = malloc(size);
        if (buf == NULL)
            return -ENOMEM;
        struct group gr, *res = NULL;
        int rc = getgrnam_r(name, &gr, buf, size, &res);
        if (rc == 0 && res != NULL)
            *gid = gr.gr_gid;
        free(buf);
        if (rc == ERANGE && size < (1u << 20)) {
            size *= 4;
            continue;
        }
        if (rc != 0)
            return -rc;
        return res != NULL ? 0 : -ENOENT;
    }
}

/*
 * Order matters: supplementary groups and the gid can only be changed while we are still
 * root, so setuid() comes last. Afterwards setuid(0) must fail; if it succeeds the drop did
 * not take (e.g. a saved set-user-ID of 0 survived) and we must not go on.
 */
int
dc_priv_drop(const char *user, const char *group)
{
    if (user == NULL || *user == '\0')
        return 0;
    uid_t uid = (uid_t)-1;
    gid_t gid = (gid_t)-1;
    int err = lookup_user(user, &uid, &gid);
    if (err < 0) {
        DC_LOG_ERROR("priv_drop_failed", "user=%s reason=%s", user,
                     err == -ENOENT ? "unknown user" : strerror(-err));
        return err;
    }
    if (group != NULL && *group != '\0') {
        err = lookup_group(group, &gid);
        if (err < 0) {
            DC_LOG_ERROR("priv_drop_failed", "group=%s reason=%s", group,
                         err == -ENOENT ? "unknown group" : strerror(-err));
            return err;
        }
    }

    if (geteuid() != 0) {
        /* Already unprivileged (e.g. started by systemd as User= with CAP_NET_BIND_SERVICE):
         * being the requested user is fine, anything else cannot be reached from here. */
        bool same_group = group == NULL || *group == '\0' || gid == getegid();
        if (uid == geteuid() && uid == getuid() && same_group)
            return 0;
        DC_LOG_ERROR("priv_drop_failed", "user=%s uid=%u reason=\"not root, cannot switch\"", user,
                     (unsigned)geteuid());
        return -EPERM;
    }

    if (initgroups(user, gid) != 0) {
        err = errno;
        DC_LOG_ERROR("priv_drop_failed", "user=%s step=initgroups reason=\"%s\"", user,
                     strerror(err));
        return err == ENOMEM ? -ENOMEM : -EPERM;
    }
    if (setgid(gid) != 0) {
        err = errno;
        DC_LOG_ERROR("priv_drop_failed", "gid=%u step=setgid reason=\"%s\"", (unsigned)gid,
                     strerror(err));
        return -EPERM;
    }
    if (setuid(uid) != 0) {
        err = errno;
        DC_LOG_ERROR("priv_drop_failed", "uid=%u step=setuid reason=\"%s\"", (unsigned)uid,
                     strerror(err));
        return -EPERM;
    }
    if (uid != 0 && (setuid(0) == 0 || geteuid() == 0 || getuid() != uid)) {
        DC_LOG_ERROR("priv_drop_failed", "uid=%u reason=\"root could be regained\"", (unsigned)uid);
        return -EPERM;
    }
    DC_LOG_INFO("priv_drop", "user=%s uid=%u gid=%u", user, (unsigned)uid, (unsigned)gid);
    return 0;
}
