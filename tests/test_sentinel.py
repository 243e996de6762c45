"""Redis high availability: REDIS_URL naming a Sentinel service. A real master, replica and
sentinel (redis-server from Debian); the master is killed mid-run and the hotline, its RQ
queue and the scheduler's own connection carry on against the promoted replica."""
from __future__ import annotations

import shutil
import socket
import subprocess

import pytest
import redis
from redis.sentinel import MasterNotFoundError, Sentinel

from config import ConfigError, load_config
from redis_conn import SentinelService, connect
from tests.conftest import wait_until
from tests.test_webhooks import signed_post

SERVICE = "hotline"

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None,
                                reason="redis-server is not installed (./test.sh installs it with apt as root)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def master_address(sentinels: Sentinel) -> tuple[str, int] | None:
    try:
        return sentinels.discover_master(SERVICE)
    except MasterNotFoundError:   # none while the old master is down and before the promotion
        return None


@pytest.fixture
def sentinel_service(tmp_path):
    """A master, its replica and one sentinel (quorum 1) watching them: yields the URL and the
    processes by role."""
    master, replica, sentinel = free_port(), free_port(), free_port()
    common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    processes = {}

    def start(role: str, *arguments: str) -> None:
        folder = tmp_path / role
        folder.mkdir()
        processes[role] = subprocess.Popen(["redis-server", *arguments, "--dir", str(folder),
                                            "--logfile", str(folder / "log")])

    start("master", "--port", str(master), *common)
    start("replica", "--port", str(replica), *common, "--replicaof", "127.0.0.1", str(master))
    config = tmp_path / "sentinel.conf"
    config.write_text(f"port {sentinel}\nbind 127.0.0.1\n"
                      f"sentinel monitor {SERVICE} 127.0.0.1 {master} 1\n"
                      f"sentinel down-after-milliseconds {SERVICE} 500\n"
                      f"sentinel failover-timeout {SERVICE} 5000\n")
    start("sentinel", str(config), "--sentinel")
    watcher = redis.Redis(port=sentinel, decode_responses=True)

    def ready() -> bool:
        try:
            replicas = watcher.sentinel_slaves(SERVICE)
        except redis.RedisError:
            return False
        return any(r["port"] == replica and "s_down" not in r["flags"] for r in replicas) and \
            redis.Redis(port=replica, decode_responses=True).info("replication")["master_link_status"] == "up"

    try:
        wait_until(ready, 30)
        yield {"url": f"redis+sentinel://127.0.0.1:{sentinel}/{SERVICE}/0", "watcher": watcher,
               "ports": {"master": master, "replica": replica}, "processes": processes}
    finally:
        for process in processes.values():
            process.kill()
            process.wait()


def test_sentinel_urls_are_parsed_and_bad_ones_refused_at_start():
    service = SentinelService.parse("redis+sentinel://:s%40fe@10.0.0.1:26380,10.0.0.2/hotline/3")
    assert service == SentinelService([("10.0.0.1", 26380), ("10.0.0.2", 26379)], "hotline", 3, "s@fe")
    assert load_config({"REDIS_URL": "redis+sentinel://a,b/hotline"})["REDIS_URL"] == "redis+sentinel://a,b/hotline"
    for bad in ("redis+sentinel://host/", "redis+sentinel:///hotline", "redis+sentinel://h:port/hotline",
                "redis+sentinel://h/hotline/db"):
        with pytest.raises(ConfigError, match="a Sentinel URL looks like"):
            load_config({"REDIS_URL": bad})


def test_the_hotline_queue_and_scheduler_carry_on_after_the_master_fails_over(sentinel_service, make_app,
                                                                              demo_parcels):
    from rq.scheduler import RQScheduler

    from callqueue.jobs import get_queue
    from redis_conn import get_redis

    app = make_app(REDIS_URL=sentinel_service["url"])
    client = app.test_client()
    with app.app_context():
        connection = get_redis()
        before = signed_post(client, "/voice/incoming", {"CallSid": "CA-before", "From": "13800138000"})
        assert before.status_code == 200 and "Gather" in before.get_data(as_text=True)
        queue = get_queue(connection)
        queued = queue.enqueue("builtins.len", "kept")
        scheduler = RQScheduler([queue], connection=connection)   # rebuilds its connection as its process does
        replica = sentinel_service["ports"]["replica"]
        wait_until(lambda: redis.Redis(port=replica).exists(f"rq:job:{queued.id}"), 10)

        sentinel_service["processes"]["master"].kill()
        sentinels = Sentinel(SentinelService.parse(sentinel_service["url"]).sentinels)
        wait_until(lambda: master_address(sentinels) == ("127.0.0.1", replica), 30)

        # The same connection objects, untouched: they find the new master themselves.
        after = signed_post(client, "/voice/step", {"CallSid": "CA-before", "Digits": "1"})
        spoken = after.get_data(as_text=True)
        assert after.status_code == 200 and "系统暂时出现问题" not in spoken and "运单号" in spoken
        assert queue.fetch_job(queued.id).args == ("kept",)    # written before the failover, kept
        assert scheduler.connection.ping()
        assert connect(sentinel_service["url"]).info("replication")["role"] == "master"
        assert connection.connection_pool.get_master_address() == ("127.0.0.1", replica)
