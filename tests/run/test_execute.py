"""execute's kernel client is ready once the kernel answered kernel_info on the shell channel and an idle
status for one of the requests came on IOPub, so nothing the kernel publishes afterwards is missed; a status
published before the subscription was live is asked for again, not waited for; nor is a kernel whose pool has
closed while it boots.  It starts no heartbeat thread."""

import asyncio
import queue
import threading

import pytest

from davar.run import execute


class _Kernel(execute._Client):
    """A client whose kernel answers every kernel_info on the shell channel and publishes its statuses on
    IOPub, which reaches the client only from the `subscribed`-th request on."""

    def __init__(self, *, subscribed: int, alive: bool = True, up: bool = True):
        super().__init__()
        self.subscribed, self.alive, self.up = subscribed, alive, up
        self.asked: list[str] = []
        self.shell: queue.Queue = queue.Queue()
        self.iopub: queue.Queue = queue.Queue()
        self.handled: list[dict] = []

    def kernel_info(self):
        rid = f"r{len(self.asked) + 1}"
        self.asked.append(rid)
        if self.alive and self.up:
            self.shell.put({"parent_header": {"msg_id": rid}, "msg_type": "kernel_info_reply", "content": {}})
            if len(self.asked) >= self.subscribed:
                for state in ("busy", "idle"):
                    self.iopub.put({"parent_header": {"msg_id": rid}, "msg_type": "status",
                                    "content": {"execution_state": state}})
        return rid

    async def get_shell_msg(self, timeout=None):
        return self.shell.get_nowait()

    async def get_iopub_msg(self, timeout=None):
        return self.iopub.get_nowait()

    def _handle_kernel_info_reply(self, msg):
        self.handled.append(msg)

    async def _async_is_alive(self):
        return self.alive


@pytest.mark.parametrize("subscribed", [1, 2, 4])
def test_ready_once_the_kernel_answered_and_iopub_is_live(subscribed):
    client = _Kernel(subscribed=subscribed)
    asyncio.run(client.wait_for_ready(timeout=10))
    assert len(client.asked) == subscribed
    assert [m["parent_header"]["msg_id"] for m in client.handled] == ["r1"]


def test_a_dead_kernel_is_not_waited_for():
    with pytest.raises(RuntimeError, match="died"):
        asyncio.run(_Kernel(subscribed=1, alive=False).wait_for_ready(timeout=10))


def test_a_start_the_pool_cancelled_is_not_waited_for():
    client = _Kernel(subscribed=1, up=False)  # still booting: nothing answers
    client.cancel = threading.Event()
    threading.Timer(0.3, client.cancel.set).start()
    with pytest.raises(RuntimeError, match="cancelled"):
        asyncio.run(client.wait_for_ready(timeout=30))


def test_no_heartbeat_thread_that_a_stop_right_after_the_start_would_set_spinning(tmp_path, monkeypatch):
    """jupyter_client's heartbeat thread, stopped before it ran, set itself running again and made sockets in a
    loop until libzmq refused one ("Too many open files", ~1000 descriptors open meanwhile); the kernel's manager
    says whether the kernel lives, so the clients start none."""
    raised = []
    monkeypatch.setattr(threading, "excepthook", raised.append)
    for i in range(5):  # a kernel that never came: nothing answers at these sockets
        client = execute._Client(transport="ipc", ip=str(tmp_path / f"k{i}"), shell_port=1, iopub_port=2,
                                 stdin_port=3, hb_port=4, control_port=5)
        client.start_channels()
        heartbeat = client.hb_channel.is_alive()
        client.stop_channels()
        assert not heartbeat
    assert raised == []
