/* serve/sd: the sockets systemd passes (LISTEN_* variables set by the test
 * on sockets it made at fds 3, 4, ...) and the notifications, read from a
 * datagram socket the test binds as NOTIFY_SOCKET. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "serve/sd.h"

#include "unit.h"

static char tmpdir[] = "/tmp/qsjwt-sd-XXXXXX";

/* A listening socket moved to fd `at`. */
static void put(int fd, int at)
{
	assert_true(fd >= 0);
	if (fd != at) {
		assert_int_equal(dup2(fd, at), at);
		close(fd);
	}
}

static int unix_listener(const char *name, int listening)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", tmpdir, name);
	unlink(sa.sun_path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (listening)
		assert_int_equal(listen(fd, 8), 0);
	return fd;
}

static int tcp_listener(const char *addr, unsigned *port)
{
	struct sockaddr_in in;
	socklen_t len = sizeof(in);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, addr, &in.sin_addr), 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&in, sizeof(in)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&in, &len), 0);
	*port = ntohs(in.sin_port);
	return fd;
}

static void pass(int n, const char *names)
{
	char v[32];

	snprintf(v, sizeof(v), "%ld", (long)getpid());
	setenv("LISTEN_PID", v, 1);
	snprintf(v, sizeof(v), "%d", n);
	setenv("LISTEN_FDS", v, 1);
	if (names != NULL)
		setenv("LISTEN_FDNAMES", names, 1);
	else
		unsetenv("LISTEN_FDNAMES");
}

static void none(void **state)
{
	sdl_socket *s = (sdl_socket *)1;
	size_t n = 9;
	char *err = (char *)1;

	(void)state;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	assert_int_equal(sdl_listen_fds(&s, &n, &err), 0);
	assert_null(s);
	assert_int_equal(n, 0);
	assert_null(err);
	/* Variables meant for another process (the parent's pid). */
	pass(1, NULL);
	{
		char v[32];
		snprintf(v, sizeof(v), "%ld", (long)getppid());
		setenv("LISTEN_PID", v, 1);
	}
	assert_int_equal(sdl_listen_fds(&s, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(getenv("LISTEN_FDS")); /* unset for children */
}

static void unix_and_tcp(void **state)
{
	sdl_socket *s = NULL;
	size_t n = 0;
	char *err = NULL, want[128];
	unsigned p1 = 0, p2 = 0;
	int fl;

	(void)state;
	put(unix_listener("api.sock", 1), 3);
	put(tcp_listener("127.0.0.1", &p1), 4);
	put(tcp_listener("0.0.0.0", &p2), 5);
	pass(3, "api:https:plain");
	assert_int_equal(sdl_listen_fds(&s, &n, &err), 0);
	assert_null(err);
	assert_int_equal(n, 3);
	assert_int_equal(s[0].fd, 3);
	assert_int_equal(s[0].is_unix, 1);
	assert_string_equal(s[0].name, "api");
	snprintf(want, sizeof(want), "unix:%s/api.sock", tmpdir);
	assert_string_equal(s[0].where, want);
	assert_int_equal(s[1].fd, 4);
	assert_int_equal(s[1].is_unix, 0);
	assert_int_equal(s[1].loopback, 1);
	assert_string_equal(s[1].name, "https");
	snprintf(want, sizeof(want), "tcp:127.0.0.1:%u", p1);
	assert_string_equal(s[1].where, want);
	assert_int_equal(s[2].loopback, 0);
	assert_string_equal(s[2].name, "plain");
	snprintf(want, sizeof(want), "tcp:0.0.0.0:%u", p2);
	assert_string_equal(s[2].where, want);
	fl = fcntl(4, F_GETFL);
	assert_true(fl >= 0 && (fl & O_NONBLOCK));
	assert_true(fcntl(4, F_GETFD) & FD_CLOEXEC);
	assert_null(getenv("LISTEN_FDS"));
	assert_null(getenv("LISTEN_FDNAMES"));
	sdl_sockets_free(s, n);
	/* Closed by sdl_sockets_free(). */
	assert_int_equal(fcntl(3, F_GETFD), -1);
	assert_int_equal(fcntl(5, F_GETFD), -1);
}

static void not_listening(void **state)
{
	sdl_socket *s = NULL;
	size_t n = 0;
	char *err = NULL;

	(void)state;
	put(unix_listener("ok.sock", 1), 3);
	put(unix_listener("bound.sock", 0), 4); /* bound, never listen()ed */
	pass(2, NULL);
	assert_int_equal(sdl_listen_fds(&s, &n, &err), -1);
	assert_null(s);
	assert_int_equal(n, 0);
	assert_string_equal(err, "socket 4 (unknown) that systemd passed is not a listening "
				 "unix or TCP stream socket");
	free(err);
	/* Nothing is left open on failure. */
	assert_int_equal(fcntl(3, F_GETFD), -1);
	assert_int_equal(fcntl(4, F_GETFD), -1);
	/* A datagram socket. */
	put(socket(AF_INET, SOCK_DGRAM, 0), 3);
	pass(1, "udp");
	assert_int_equal(sdl_listen_fds(&s, &n, &err), -1);
	assert_string_equal(err, "socket 3 (udp) that systemd passed is not a listening unix "
				 "or TCP stream socket");
	free(err);
}

static void recv_is(int fd, const char *want)
{
	char buf[600];
	ssize_t r = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	assert_true(r >= 0);
	buf[r] = '\0';
	assert_string_equal(buf, want);
}

static void notifications(void **state)
{
	struct sockaddr_un sa;
	char path[100], big[700];
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(path, sizeof(path), "%s/notify", tmpdir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	/* Without NOTIFY_SOCKET: nothing is sent, nothing fails. */
	unsetenv("NOTIFY_SOCKET");
	sdl_notify_ready("x");
	assert_int_equal(recv(fd, big, sizeof(big), MSG_DONTWAIT), -1);
	setenv("NOTIFY_SOCKET", path, 1);
	sdl_notify_ready("serving: 1 signing worker, key file k.pem");
	recv_is(fd, "READY=1\nSTATUS=serving: 1 signing worker, key file k.pem");
	sdl_notify_status("token down: CKR_DEVICE_REMOVED\nREADY=1");
	recv_is(fd, "STATUS=token down: CKR_DEVICE_REMOVED READY=1");
	sdl_notify_stopping("stopping: SIGTERM");
	recv_is(fd, "STOPPING=1\nSTATUS=stopping: SIGTERM");
	/* A long status is cut, never split into another field. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sdl_notify_status(big);
	{
		char buf[1024];
		ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		assert_int_equal(r, 511);
		assert_memory_equal(buf, "STATUS=aaa", 10);
	}
	unsetenv("NOTIFY_SOCKET");
	close(fd);
	unlink(path);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(none),
	    cmocka_unit_test(unix_and_tcp),
	    cmocka_unit_test(not_listening),
	    cmocka_unit_test(notifications),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
