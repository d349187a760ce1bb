//! Redis with one replica and three Sentinels on loopback ports (Debian's
//! `redis-server`, the Sentinels as `redis-server <conf> --sentinel`): the
//! cluster tests and `make chaos-cluster` kill the master and watch the
//! Sentinels promote the replica.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::process::{Proc, free_ports, program, wait_port};
use crate::wait::poll_until;

/// The monitored master's name (`redis.master_name`).
pub const MASTER_NAME: &str = "cloudsms";

/// One data node (master or replica at start).
pub struct RedisNode {
    /// Its port.
    pub port: u16,
    /// The process.
    pub proc: Proc,
}

/// A master, a replica and three Sentinels.
pub struct RedisSentinels {
    /// The data nodes: `[0]` is the master at start, `[1]` its replica.
    pub nodes: Vec<RedisNode>,
    /// Sentinel ports.
    pub sentinel_ports: Vec<u16>,
    sentinels: Vec<Proc>,
}

fn redis_server() -> std::path::PathBuf {
    program(
        "redis-server",
        &["/usr/bin/redis-server", "/usr/local/bin/redis-server"],
    )
}

impl RedisSentinels {
    /// Starts the master, its replica and three Sentinels (quorum 2, the
    /// master down after 2 s: not less, so that a test machine busy for a second does not make them fail over a live master) under `dir`, and waits until the Sentinels
    /// name the master, the replica is in sync with it (`WAIT 1`
    /// succeeds) and every Sentinel knows the replica (it can promote it).
    pub async fn start(dir: &Path) -> anyhow::Result<Self> {
        let server = redis_server();
        let [
            master_port,
            replica_port,
            sentinel_a,
            sentinel_b,
            sentinel_c,
        ] = free_ports()?;
        let mut nodes = Vec::new();
        for (i, port) in [master_port, replica_port].into_iter().enumerate() {
            // Its own folder: a replica writes the master's snapshot to
            // dump.rdb there, and a node loads it at start.
            let data = dir.join(format!("redis-{i}"));
            std::fs::create_dir_all(&data)?;
            let mut args = [
                "--port",
                &port.to_string(),
                "--dir",
                &data.display().to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ]
            .map(str::to_owned)
            .to_vec();
            if i == 1 {
                args.extend([
                    "--replicaof".into(),
                    "127.0.0.1".into(),
                    master_port.to_string(),
                ]);
            }
            let mut proc = Proc::new(
                format!("redis-{i}"),
                server.clone(),
                args,
                vec![],
                dir.join(format!("redis-{i}.log")),
            );
            proc.start()?;
            wait_port(port, Duration::from_secs(10)).await?;
            nodes.push(RedisNode { port, proc });
        }
        let mut sentinels = Vec::new();
        let mut sentinel_ports = Vec::new();
        for (i, port) in [sentinel_a, sentinel_b, sentinel_c].into_iter().enumerate() {
            // A Sentinel rewrites its configuration file: one each.
            let conf = dir.join(format!("sentinel-{i}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\ndaemonize no\n\
                     sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 2\n\
                     sentinel down-after-milliseconds {MASTER_NAME} 2000\n\
                     sentinel failover-timeout {MASTER_NAME} 5000\n\
                     sentinel parallel-syncs {MASTER_NAME} 1\n"
                ),
            )?;
            let mut proc = Proc::new(
                format!("sentinel-{i}"),
                server.clone(),
                vec![conf.display().to_string(), "--sentinel".into()],
                vec![],
                dir.join(format!("sentinel-{i}.log")),
            );
            proc.start()?;
            wait_port(port, Duration::from_secs(10)).await?;
            sentinels.push(proc);
            sentinel_ports.push(port);
        }
        let group = Self {
            nodes,
            sentinel_ports,
            sentinels,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while group.master_port().await.ok() != Some(master_port) {
            if Instant::now() > deadline {
                bail!("the Sentinels do not name the master");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        while !replica_connected(replica_port).await {
            if Instant::now() > deadline {
                bail!("the replica does not sync with the master");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // A Sentinel learns of replicas from the master's INFO (every 10 s):
        // one that does not know the replica yet cannot promote it once
        // the master is dead.
        for port in &group.sentinel_ports {
            while !knows_replica(*port, replica_port).await {
                if Instant::now() > deadline {
                    bail!("Sentinel {port} does not know the replica");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(group)
    }

    /// `127.0.0.1:<port>` of every Sentinel: what `redis.sentinels` takes.
    pub fn sentinel_addrs(&self) -> Vec<String> {
        self.sentinel_ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect()
    }

    /// The master's port as the first answering Sentinel names it.
    pub async fn master_port(&self) -> anyhow::Result<u16> {
        let mut last = None;
        for port in &self.sentinel_ports {
            let asked = async {
                let client = redis::Client::open(format!("redis://127.0.0.1:{port}"))?;
                let mut conn = client.get_multiplexed_async_connection().await?;
                let (_host, port): (String, u16) = redis::cmd("SENTINEL")
                    .arg("get-master-addr-by-name")
                    .arg(MASTER_NAME)
                    .query_async(&mut conn)
                    .await?;
                anyhow::Ok(port)
            }
            .await;
            match asked {
                Ok(port) => return Ok(port),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("no Sentinel")))
    }

    /// Index into `nodes` of the current master.
    pub async fn master_index(&self) -> anyhow::Result<usize> {
        let port = self.master_port().await?;
        self.nodes
            .iter()
            .position(|n| n.port == port)
            .context("the Sentinels name a master we did not start")
    }

    /// Waits until the Sentinels name a master other than port `not` and
    /// that node answers as a master; returns its port.
    pub async fn wait_failover(&self, not: u16, within: Duration) -> anyhow::Result<u16> {
        poll_until(
            format!("a failover from port {not}"),
            within,
            async || match self.master_port().await {
                Ok(port) if port != not && is_master(port).await => Some(port),
                _ => None,
            },
        )
        .await
    }

    /// `kill -9` of data node `i`.
    pub fn kill9(&mut self, i: usize) {
        self.nodes[i].proc.kill9();
    }

    /// Starts data node `i` again, empty, as it was first started; the
    /// Sentinels make it a replica of the current master.
    pub async fn restart(&mut self, i: usize) -> anyhow::Result<()> {
        let node = &mut self.nodes[i];
        node.proc.restart(true)?;
        wait_port(node.port, Duration::from_secs(10)).await
    }

    /// Every process, for a final "still running" check.
    pub fn procs_mut(&mut self) -> impl Iterator<Item = &mut Proc> {
        self.nodes
            .iter_mut()
            .map(|n| &mut n.proc)
            .chain(self.sentinels.iter_mut())
    }
}

/// True when the Sentinel on `port` lists the replica on `replica_port`.
async fn knows_replica(port: u16, replica_port: u16) -> bool {
    async {
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}"))?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        let replicas: Vec<std::collections::HashMap<String, String>> = redis::cmd("SENTINEL")
            .arg("replicas")
            .arg(MASTER_NAME)
            .query_async(&mut conn)
            .await?;
        let port = replica_port.to_string();
        anyhow::Ok(replicas.iter().any(|r| r.get("port") == Some(&port)))
    }
    .await
    .unwrap_or(false)
}

/// True when the Redis on `port` answers `ROLE` as a replica whose link
/// to its master is up (`connected`).
async fn replica_connected(port: u16) -> bool {
    async {
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}"))?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        let role: redis::Value = redis::cmd("ROLE").query_async(&mut conn).await?;
        let state = match role {
            redis::Value::Array(items) => items.into_iter().nth(3),
            _ => None,
        };
        anyhow::Ok(matches!(
            state,
            Some(redis::Value::BulkString(b)) if b == b"connected"
        ))
    }
    .await
    .unwrap_or(false)
}

/// True when the Redis on `port` answers `ROLE` as a master.
async fn is_master(port: u16) -> bool {
    async {
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}"))?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        let role: redis::Value = redis::cmd("ROLE").query_async(&mut conn).await?;
        let first = match role {
            redis::Value::Array(items) => items.into_iter().next(),
            _ => None,
        };
        anyhow::Ok(matches!(
            first,
            Some(redis::Value::BulkString(b)) if b == b"master"
        ))
    }
    .await
    .unwrap_or(false)
}
