//! A child process the chaos runs and cluster tests start, `kill -9` and
//! start again, its output appended to one log file.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

/// A free TCP port on loopback (bound, then released).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// `N` free TCP ports on loopback, all different: all are bound before any
/// is released. (Ports asked for one after another can repeat: the kernel
/// may hand out a port just released again, about once in 300 sets of
/// seven, and a process given one port twice cannot start.)
pub fn free_ports<const N: usize>() -> anyhow::Result<[u16; N]> {
    let ports = free_port_list(N)?;
    <[u16; N]>::try_from(ports).map_err(|p| anyhow::anyhow!("{} ports, not {N}", p.len()))
}

/// `n` free TCP ports on loopback, all different (see [`free_ports`]).
pub fn free_port_list(n: usize) -> anyhow::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()?;
    listeners
        .iter()
        .map(|l| Ok(l.local_addr()?.port()))
        .collect()
}

/// Waits until something accepts connections on `port` of loopback.
pub async fn wait_port(port: u16, within: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("nothing listens on port {port}")
}

/// The first of `candidates` that exists, else the bare name (from `PATH`).
pub fn program(name: &str, candidates: &[&str]) -> PathBuf {
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// A process we start, kill and start again.
pub struct Proc {
    /// Shown in reports.
    pub name: String,
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its environment on top of ours.
    pub env: Vec<(String, String)>,
    /// Where its stdout and stderr go (appended, across restarts).
    pub log: PathBuf,
    child: Option<Child>,
    /// Starts after the first.
    pub restarts: usize,
}

impl Proc {
    /// A process not started yet.
    pub fn new(
        name: impl Into<String>,
        program: impl Into<PathBuf>,
        args: Vec<String>,
        env: Vec<(String, String)>,
        log: PathBuf,
    ) -> Self {
        Self {
            name: name.into(),
            program: program.into(),
            args,
            env,
            log,
            child: None,
            restarts: 0,
        }
    }

    /// Starts it.
    pub fn start(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let child = Command::new(&self.program)
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", self.program.display()))?;
        self.child = Some(child);
        Ok(())
    }

    /// Its process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// `kill -9`, and reaps it.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits up to 10 s for the exit (SIGKILL after).
    pub fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops it (`kill -9` when `hard`, else SIGTERM) and starts it again.
    pub fn restart(&mut self, hard: bool) -> anyhow::Result<()> {
        if hard {
            self.kill9();
        } else {
            self.terminate();
        }
        self.restarts += 1;
        self.start()
    }

    /// None while running, else how it exited.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.as_mut().map(Child::try_wait) {
            None => Some("not running".into()),
            Some(Ok(None)) => None,
            Some(Ok(Some(status))) => Some(status.to_string()),
            Some(Err(e)) => Some(e.to_string()),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::free_ports;

    #[test]
    fn the_ports_of_one_site_are_never_the_same_port_twice() {
        // 3,000 sets of a site's seven listeners: asked for one by one,
        // about ten sets would hold a port twice.
        for _ in 0..3_000 {
            let ports = free_ports::<7>().expect("free ports");
            let distinct: HashSet<u16> = ports.iter().copied().collect();
            assert_eq!(distinct.len(), 7, "{ports:?}");
        }
    }
}
