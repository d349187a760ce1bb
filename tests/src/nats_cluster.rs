//! Three (or more) `nats-server` processes with JetStream clustered on
//! loopback ports, each with its own store folder: the cluster tests and
//! `make chaos-cluster` start one, find a stream's leader, `kill -9` a node
//! and start it again on the same ports and store.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::process::{Proc, free_port_list, program, wait_port};
use crate::wait::poll_until;

/// The cluster's name (`--cluster_name`).
pub const CLUSTER_NAME: &str = "cloudsms";

/// One node: its ports and process.
pub struct NatsNode {
    /// Server name (`n0`, `n1`, ...), as stream infos name their leader.
    pub name: String,
    /// Client port.
    pub port: u16,
    /// Route port (`--cluster`).
    pub cluster_port: u16,
    /// The process.
    pub proc: Proc,
}

impl NatsNode {
    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

/// A JetStream cluster on loopback.
pub struct NatsCluster {
    /// The nodes, in start order.
    pub nodes: Vec<NatsNode>,
}

impl NatsCluster {
    /// Starts `size` clustered nodes storing under `dir` (logs there too)
    /// and waits until JetStream answers on every one (a meta leader is
    /// elected).
    pub async fn start(dir: &Path, size: usize) -> anyhow::Result<Self> {
        let nats = program(
            "nats-server",
            &["/usr/sbin/nats-server", "/usr/bin/nats-server"],
        );
        // A client and a cluster port for each node, all different.
        let ports: Vec<(u16, u16)> = free_port_list(2 * size)?
            .chunks_exact(2)
            .map(|p| (p[0], p[1]))
            .collect();
        let mut nodes = Vec::with_capacity(size);
        for (i, (port, cluster_port)) in ports.iter().copied().enumerate() {
            let name = format!("n{i}");
            let store = dir.join(format!("nats-{name}"));
            std::fs::create_dir_all(&store)?;
            let routes = ports
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, (_, cp))| format!("nats://127.0.0.1:{cp}"))
                .collect::<Vec<_>>()
                .join(",");
            let args = [
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-n",
                &name,
                "-sd",
                &store.display().to_string(),
                "--cluster_name",
                CLUSTER_NAME,
                "--cluster",
                &format!("nats://127.0.0.1:{cluster_port}"),
                "--routes",
                &routes,
            ]
            .map(str::to_owned)
            .to_vec();
            let mut proc = Proc::new(
                format!("nats-{name}"),
                nats.clone(),
                args,
                vec![],
                dir.join(format!("nats-{name}.log")),
            );
            proc.start()?;
            nodes.push(NatsNode {
                name,
                port,
                cluster_port,
                proc,
            });
        }
        let cluster = Self { nodes };
        for node in &cluster.nodes {
            wait_port(node.port, Duration::from_secs(10)).await?;
        }
        cluster.wait_jetstream(Duration::from_secs(30)).await?;
        Ok(cluster)
    }

    /// Every node's URL, comma-separated: what `nats.url` takes.
    pub fn urls(&self) -> String {
        self.nodes
            .iter()
            .map(NatsNode::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Index of the node named `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// Waits until every running node answers a JetStream account query.
    pub async fn wait_jetstream(&self, within: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        for node in &self.nodes {
            if node.proc.pid().is_none() {
                continue;
            }
            loop {
                let asked = async {
                    // `$JS.API.INFO` answers with an error while no meta
                    // leader is elected. (async-nats' `query_account` does
                    // not parse nats-server 2.9's answer.)
                    let client = async_nats::connect(node.url()).await?;
                    let reply = client.request("$JS.API.INFO", "".into()).await?;
                    let info: serde_json::Value = serde_json::from_slice(&reply.payload)?;
                    match info.get("error") {
                        Some(error) => anyhow::bail!("{error}"),
                        None => anyhow::Ok(()),
                    }
                }
                .await;
                let Err(err) = asked else { break };
                if Instant::now() > deadline {
                    bail!("JetStream did not come up on {}: {err:#}", node.name);
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        Ok(())
    }

    /// The server name of `stream`'s leader, asked of any running node.
    pub async fn stream_leader(&self, stream: &str) -> anyhow::Result<String> {
        let mut last = None;
        for node in self.nodes.iter().filter(|n| n.proc.pid().is_some()) {
            let asked = async {
                let client = async_nats::connect(node.url()).await?;
                let js = async_nats::jetstream::new(client);
                let mut handle = js.get_stream(stream).await?;
                let info = handle.info().await?;
                info.cluster
                    .as_ref()
                    .and_then(|c| c.leader.clone())
                    .context("the stream has no leader now")
            }
            .await;
            match asked {
                Ok(leader) => return Ok(leader),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("no node is running")))
    }

    /// Waits until `stream` has a leader other than `not` (after a kill).
    pub async fn wait_new_leader(
        &self,
        stream: &str,
        not: &str,
        within: Duration,
    ) -> anyhow::Result<String> {
        poll_until(format!("a new leader of {stream}"), within, async || {
            self.stream_leader(stream)
                .await
                .ok()
                .filter(|leader| leader != not)
        })
        .await
    }

    /// `kill -9` of node `i`.
    pub fn kill9(&mut self, i: usize) {
        self.nodes[i].proc.kill9();
    }

    /// Starts node `i` again (same ports, same store) and waits for its port.
    pub async fn restart(&mut self, i: usize) -> anyhow::Result<()> {
        let node = &mut self.nodes[i];
        node.proc.restart(true)?;
        wait_port(node.port, Duration::from_secs(10)).await
    }
}
