/* dc_priv_drop for real: each drop happens in a fork()ed child (set*id cannot be undone), which
 * checks its ids and reports through its exit code. Needs root for the drop cases; without
 * root those are skipped and only the unprivileged paths run. */
#include "common/priv.h"

#include "test.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef void (*child_fn)(void);

/* Runs fn in a child; the child exits 0 when every check passed. Waits at most 10 s. */
static int
run_child(child_fn fn)
{
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        fn();
        _exit(0);
    }
    int status = 0;
    for (int i = 0; i < 1000; i++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        ASSERT_GE(r, 0);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    TEST_FAIL("child did not finish within 10 s");
}

/* In a child, a failed ASSERT aborts: the parent sees 128 + SIGABRT. */
static void
expect_ids(uid_t uid, gid_t gid)
{
    ASSERT_EQ(getuid(), uid);
    ASSERT_EQ(geteuid(), uid);
    ASSERT_EQ(getgid(), gid);
    ASSERT_EQ(getegid(), gid);
    gid_t groups[64];
    int n = getgroups(64, groups);
    ASSERT_GE(n, 0);
    for (int i = 0; i < n; i++)
        ASSERT_NE(groups[i], 0); /* root's group is gone */
    ASSERT_NE(setuid(0), 0);
    ASSERT_NE(seteuid(0), 0);
    ASSERT_NE(setgid(0), 0);
}

static void
child_drop_to_nobody(void)
{
    struct passwd *pw = getpwnam("nobody");
    ASSERT_NOT_NULL(pw);
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    ASSERT_EQ(dc_priv_drop("nobody", NULL), 0);
    expect_ids(uid, gid);
    /* Unprivileged now: being asked for the user we are is fine, any other is not. */
    ASSERT_EQ(dc_priv_drop("nobody", NULL), 0);
    ASSERT_EQ(dc_priv_drop("root", NULL), -EPERM);
    ASSERT_EQ(dc_priv_drop("nobody", "root"), -EPERM);
    ASSERT_EQ(dc_priv_drop("", NULL), 0);
}

static void
child_drop_to_nobody_nogroup(void)
{
    struct passwd *pw = getpwnam("nobody");
    struct group *gr = getgrnam("nogroup");
    ASSERT_NOT_NULL(pw);
    ASSERT_NOT_NULL(gr);
    uid_t uid = pw->pw_uid;
    gid_t gid = gr->gr_gid;
    ASSERT_EQ(dc_priv_drop("nobody", "nogroup"), 0);
    expect_ids(uid, gid);
    ASSERT_EQ(dc_priv_drop("nobody", "nogroup"), 0);
}

static void
child_unknown_names(void)
{
    uid_t uid = getuid();
    ASSERT_EQ(dc_priv_drop("duet-no-such-user-x", NULL), -ENOENT);
    ASSERT_EQ(dc_priv_drop("nobody", "duet-no-such-group-x"), -ENOENT);
    ASSERT_EQ(getuid(), uid); /* nothing changed */
}

static void
child_noop(void)
{
    uid_t uid = getuid();
    gid_t gid = getgid();
    ASSERT_EQ(dc_priv_drop(NULL, NULL), 0);
    ASSERT_EQ(dc_priv_drop("", "nogroup"), 0);
    ASSERT_EQ(getuid(), uid);
    ASSERT_EQ(getgid(), gid);
}

static void
test_noop_without_user(void)
{
    ASSERT_EQ(run_child(child_noop), 0);
}

static void
test_unknown_user_or_group(void)
{
    ASSERT_EQ(run_child(child_unknown_names), 0);
}

static void
test_drop_to_nobody(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "skipped: not root\n");
        return;
    }
    ASSERT_EQ(run_child(child_drop_to_nobody), 0);
}

static void
test_drop_to_nobody_nogroup(void)
{
    if (geteuid() != 0 || getgrnam("nogroup") == NULL) {
        fprintf(stderr, "skipped: not root or no nogroup\n");
        return;
    }
    ASSERT_EQ(run_child(child_drop_to_nobody_nogroup), 0);
}

int
main(void)
{
    TEST_RUN(test_noop_without_user);
    TEST_RUN(test_unknown_user_or_group);
    TEST_RUN(test_drop_to_nobody);
    TEST_RUN(test_drop_to_nobody_nogroup);
    return 0;
}
