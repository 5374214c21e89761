//! `baoxue-hub serve`: accepts node syncs over QUIC with mutual TLS and drives a
//! [`HubSession`] per connection.
//!
//! Every connection is its own task: a node on a bad link, a malformed frame or a peer that
//! speaks nonsense ends only its own session, logged with the node's name (from its
//! certificate) and the reason; everyone else keeps syncing. Pushes are applied under one write
//! lock (the store's log is a single sequence) in pieces of [`PUSH_PIECE`] revisions, so a node
//! that dies or stalls with batches queued delays another node by one piece at most; pulls read
//! concurrently.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use baoxue_net::{FramedStream, NetError, NodeIdentity, Peer, RevocationCheck, Server};
use baoxue_shared::org::Org;
use baoxue_shared::revision::now_ms;
use baoxue_shared::sync::{
    clock_text, decode_frame, encode_frame, CountyConfig, HubContext, HubOutcome, HubSession, Message, PushBatch, Side,
    SyncError, DEFAULT_FUTURE_BOUND_MS,
};
use baoxue_store::Store;
use tracing::{info, warn};

use crate::data::{HubDir, HubError, NodeStatus, Result};
use crate::replica::{ScopeIndex, StoreHub};

/// How long a connected node may take to open its stream, and to send any one frame.
const FRAME_TIMEOUT: Duration = Duration::from_secs(120);

/// The county configuration as last loaded (reloaded when `hub.toml`'s version changes).
struct Loaded {
    version: u64,
    county: CountyConfig,
    org: Arc<Org>,
    future_bound_ms: u64,
}

/// What every session of one server shares.
pub struct HubState {
    pub dir: HubDir,
    pub store: Store,
    pub scopes: ScopeIndex,
    loaded: RwLock<Arc<Loaded>>,
    /// Pushes (and epoch/cursor writes) one at a time, first come first served (tokio's mutex
    /// is fair): a node waits for the pieces queued before its own, never behind a stream of
    /// another node's.
    write: Arc<tokio::sync::Mutex<()>>,
    /// `node-status.json` writes one at a time.
    status: Mutex<()>,
    /// One session per node at a time; a new connection from a node supersedes its old one
    /// (a node runs one sync at a time, so the old connection is dead: killed, or cut).
    busy: Mutex<HashMap<String, NodeSlot>>,
}

impl HubState {
    /// The hub's state over an open store.
    pub fn new(dir: HubDir, store: Store) -> Result<HubState> {
        let loaded = load(&dir)?;
        Ok(HubState {
            dir,
            store,
            scopes: ScopeIndex::default(),
            loaded: RwLock::new(Arc::new(loaded)),
            write: Arc::new(tokio::sync::Mutex::new(())),
            status: Mutex::new(()),
            busy: Mutex::new(HashMap::new()),
        })
    }

    /// Holds off pushes (and other forwarded commands) while a command run on behalf of the
    /// operator, or the nightly run, uses the store.
    /// Blocking: call from a blocking thread (`spawn_blocking`), never from async code.
    pub fn exclusive(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.write.blocking_lock()
    }

    /// The current county configuration, reloaded if `org import` or a policy change raised its
    /// version since (the scope index is then rebuilt lazily).
    fn current(&self) -> Result<Arc<Loaded>> {
        let version = self.dir.config()?.config_version;
        {
            let l = self.loaded.read().unwrap_or_else(|p| p.into_inner());
            if l.version == version {
                return Ok(l.clone());
            }
        }
        let fresh = Arc::new(load(&self.dir)?);
        info!(version = fresh.version, "已载入新的全县配置（学校名单、政策）");
        self.scopes.clear();
        *self.loaded.write().unwrap_or_else(|p| p.into_inner()) = fresh.clone();
        Ok(fresh)
    }

    fn context_for(&self, id: &NodeIdentity) -> Result<(HubContext, Arc<Org>)> {
        let l = self.current()?;
        let other_nodes = self.dir.nodes()?.into_iter().map(|n| n.name).filter(|n| *n != id.name).collect();
        Ok((
            HubContext {
                node: id.name.clone(),
                township: id.township.clone(),
                other_nodes,
                future_bound_ms: l.future_bound_ms,
                config: Some(l.county.clone()),
            },
            l.org.clone(),
        ))
    }

    /// Claims the node's slot: tells any older session of the node to end, and returns the lock
    /// to wait for and this session's generation to watch.
    fn claim(&self, name: &str) -> (Arc<tokio::sync::Mutex<()>>, tokio::sync::watch::Receiver<u64>, u64) {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        let slot = busy.entry(name.to_string()).or_insert_with(|| NodeSlot {
            lock: Arc::new(tokio::sync::Mutex::new(())),
            generation: tokio::sync::watch::channel(0).0,
        });
        let mine = *slot.generation.borrow() + 1;
        slot.generation.send_replace(mine);
        (slot.lock.clone(), slot.generation.subscribe(), mine)
    }

    /// Records a session's end in `node-status.json`.
    fn record(&self, node: &str, outcome: &HubOutcome, error: Option<&str>) {
        let _g = self.status.lock().unwrap_or_else(|p| p.into_inner());
        let mut all: BTreeMap<String, NodeStatus> = self.dir.statuses().unwrap_or_default();
        let s = all.entry(node.to_string()).or_default();
        let now = now_ms();
        s.last_attempt = Some(clock_text(now));
        s.received += outcome.received;
        s.rejected += outcome.rejected.len() as u64;
        s.sessions += 1;
        // The node's own word on what it holds, as of this session (lower than before only if
        // the node was restored: then it is right to be lower).
        if outcome.pulled.is_some() {
            s.pulled = outcome.pulled;
        }
        if outcome.complete {
            s.mark_synced(now);
        } else if let Some(e) = error {
            s.last_error = Some(e.to_string());
        }
        if let Err(e) = self.dir.write_statuses(&all) {
            warn!(node, error = %e, "无法写入节点同步状态");
        }
    }
}

struct NodeSlot {
    lock: Arc<tokio::sync::Mutex<()>>,
    generation: tokio::sync::watch::Sender<u64>,
}

fn load(dir: &HubDir) -> Result<Loaded> {
    let county = dir.county_config()?;
    let org = Arc::new(dir.org()?);
    let future_bound_ms =
        dir.policy().map(|p| u64::from(p.sync.future_clock_bound_minutes) * 60_000).unwrap_or(DEFAULT_FUTURE_BOUND_MS);
    Ok(Loaded { version: county.version, county, org, future_bound_ms })
}

/// A revocation check at every connection (so `node revoke` takes effect without restarting
/// `serve`): the store's durable revocations and `nodes.toml`, failing closed
/// ([`HubDir::refusal`]).
fn revocations(dir: HubDir, store: Store) -> RevocationCheck {
    Arc::new(move |name: &str| match dir.refusal(&store, name) {
        None => false,
        Some(why) => {
            warn!(node = name, reason = %why, "拒绝连接");
            true
        }
    })
}

/// A listening hub.
pub struct HubServer {
    state: Arc<HubState>,
    server: Arc<Server>,
}

impl HubServer {
    /// Opens the data directory and listens on `listen` (port 0: any free port). Must be called
    /// inside a tokio runtime.
    pub fn bind(dir: &HubDir, listen: SocketAddr) -> Result<HubServer> {
        let store = dir.open_store()?;
        Self::bind_with(dir, store, listen)
    }

    /// [`HubServer::bind`] over a store already open (tests, the demo).
    pub fn bind_with(dir: &HubDir, store: Store, listen: SocketAddr) -> Result<HubServer> {
        let cfg = dir.config()?;
        let ca = dir.ca()?;
        let cred = dir.hub_credentials()?;
        dir.persist_revocations(&store)?;
        let server = Server::bind(listen, ca.cert_pem(), &cred, revocations(dir.clone(), store.clone()))?;
        info!(county = %cfg.county_name, addr = %server.local_addr()?, "县级平台开始接受节点同步");
        Ok(HubServer { state: Arc::new(HubState::new(dir.clone(), store)?), server: Arc::new(server) })
    }

    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.server.local_addr()?)
    }

    pub fn store(&self) -> Store {
        self.state.store.clone()
    }

    pub fn state(&self) -> Arc<HubState> {
        self.state.clone()
    }

    /// Accepts nodes until `shutdown` completes; then closes every connection.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<()> {
        tokio::pin!(shutdown);
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                accepted = self.server.accept() => match accepted {
                    None => break,
                    // Refused (foreign CA, no certificate, revoked …): already logged by net.
                    Some(Err(_)) => {}
                    Some(Ok(peer)) => {
                        let state = self.state.clone();
                        tasks.spawn(async move { handle_peer(state, peer).await });
                    }
                },
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        self.server.close();
        tasks.abort_all();
        let _ = tokio::time::timeout(Duration::from_secs(3), self.server.wait_idle()).await;
        Ok(())
    }

    /// Runs in the background on the current runtime; returns the address and a handle that
    /// stops it.
    pub fn spawn(self) -> Result<RunningHub> {
        let addr = self.local_addr()?;
        let store = self.store();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(self.run(async move {
            let _ = rx.await;
        }));
        Ok(RunningHub { addr, store, stop: Some(tx), task: Some(task) })
    }
}

/// A hub serving in the background ([`HubServer::spawn`]).
pub struct RunningHub {
    pub addr: SocketAddr,
    pub store: Store,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<()>>>,
}

impl RunningHub {
    /// Stops accepting, closes every connection and waits for the server to end.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for RunningHub {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// The server's state is what the control socket runs commands on.
impl crate::control::Host for HubState {
    fn dir(&self) -> &HubDir {
        &self.dir
    }
    fn store(&self) -> Store {
        self.store.clone()
    }
    fn exclusive(&self) -> tokio::sync::MutexGuard<'_, ()> {
        HubState::exclusive(self)
    }
    fn after_command(&self) {
        // The scope cache is rebuilt from the store as sessions need it.
        self.scopes.clear();
    }
}

/// `baoxue-hub serve`: until Ctrl-C / SIGTERM.
pub async fn serve(dir: &HubDir, listen: SocketAddr, nightly: bool, web: Option<&crate::web::WebArgs>) -> Result<()> {
    // The dashboard's flags are checked before anything is bound.
    let web = web.filter(|w| !w.no_web).map(crate::web::prepare).transpose()?;
    let server = HubServer::bind(dir, listen)?;
    let web = match web {
        Some(w) => Some(crate::web::start(server.state(), w).await?),
        None => None,
    };
    let nightly = nightly.then(|| crate::nightly_hook::spawn(server.state()));
    let control = crate::control::spawn(server.state());
    if let Some(w) = &web {
        println!("县级看板：{}", w.url);
        info!(url = %w.url, "县级看板开始服务");
    }
    let r = server.run(shutdown_signal()).await;
    if let Some(w) = web {
        w.abort();
    }
    if let Some(n) = nightly {
        n.abort();
    }
    if let Some(c) = control {
        c.stop();
    }
    crate::control::remove(&dir.root);
    r
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    info!("收到停止信号，县级平台正在关闭");
}

/// Why a session ended early.
#[derive(Debug, thiserror::Error)]
enum SessionEnd {
    #[error(transparent)]
    Net(#[from] NetError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Hub(#[from] HubError),
    #[error("{0} 秒内没有收到节点的数据")]
    Timeout(u64),
    #[error("节点在同步完成前结束了会话")]
    Ended,
    #[error("同一节点发起了新的连接，旧会话结束")]
    Superseded,
    #[error("节点已被吊销，会话中止")]
    Revoked,
}

async fn handle_peer(state: Arc<HubState>, peer: Peer) {
    let id = peer.identity.clone();
    let remote = peer.remote_addr();
    let stream = match tokio::time::timeout(FRAME_TIMEOUT, peer.accept_stream()).await {
        Err(_) => {
            warn!(node = %id.name, %remote, "节点连接后未开始同步，断开");
            peer.abort("no stream");
            return;
        }
        Ok(Ok(None)) => return,
        Ok(Err(e)) => {
            warn!(node = %id.name, %remote, reason = %e, "连接中断");
            return;
        }
        Ok(Ok(Some(s))) => s,
    };
    let (lock, generation, mine) = state.claim(&id.name);
    let _one_at_a_time = lock.lock().await;
    let (ctx, org) = match state.context_for(&id) {
        Ok(c) => c,
        Err(e) => {
            warn!(node = %id.name, reason = %e, "无法载入县级配置，拒绝本次同步");
            peer.abort("hub configuration error");
            return;
        }
    };
    let session = Arc::new(Mutex::new(HubSession::new(ctx)));
    let result = run_session(&state, org, &session, stream, &id.name, generation, mine).await;
    let outcome = session.lock().unwrap_or_else(|p| p.into_inner()).outcome().clone();
    match &result {
        Ok(()) => {
            info!(
                node = %id.name,
                township = %id.township,
                received = outcome.received,
                known = outcome.known,
                rejected = outcome.rejected.len(),
                sent = outcome.sent,
                "同步完成"
            );
            peer.close();
        }
        Err(e) => {
            warn!(node = %id.name, township = %id.township, %remote, reason = %e, "同步中断");
            peer.abort("session failed");
        }
    }
    for r in &outcome.rejected {
        warn!(node = %id.name, record = %r.record.hex(), revision = %r.revision.hex(), reason = %r.reason, "拒绝修订");
    }
    if outcome.reset_epoch {
        warn!(node = %id.name, "节点的数据曾从备份恢复，已让其重新完整同步");
    }
    if let Err(e) = result {
        let st = state.clone();
        let err = e.to_string();
        let name = id.name.clone();
        let _ = tokio::task::spawn_blocking(move || st.record(&name, &outcome, Some(&err))).await;
    }
}

async fn run_session(
    state: &Arc<HubState>,
    org: Arc<Org>,
    session: &Arc<Mutex<HubSession>>,
    mut stream: FramedStream,
    node: &str,
    mut generation: tokio::sync::watch::Receiver<u64>,
    mine: u64,
) -> std::result::Result<(), SessionEnd> {
    loop {
        if *generation.borrow_and_update() != mine {
            return Err(SessionEnd::Superseded);
        }
        let frame = tokio::select! {
            f = tokio::time::timeout(FRAME_TIMEOUT, stream.recv_frame()) => f,
            _ = generation.changed() => return Err(SessionEnd::Superseded),
        };
        let frame = match frame {
            Err(_) => return Err(SessionEnd::Timeout(FRAME_TIMEOUT.as_secs())),
            Ok(Err(e @ (NetError::Oversized { .. } | NetError::Truncated { .. }))) => {
                // A peer that sent a frame too long or cut short may still listen: say why.
                if let Ok(bytes) = encode_frame(&Message::Error(format!("同步中止：{e}"))) {
                    let _ = tokio::time::timeout(Duration::from_secs(5), stream.send_frame(&bytes)).await;
                    let _ = tokio::time::timeout(Duration::from_secs(5), stream.finish_and_wait()).await;
                }
                return Err(e.into());
            }
            Ok(Err(e)) => return Err(e.into()),
            Ok(Ok(None)) => return Err(SessionEnd::Ended),
            Ok(Ok(Some(f))) => f,
        };
        // A node revoked while its session runs gets nothing more in or out.
        if state.dir.refusal(&state.store, node).is_some() {
            return Err(SessionEnd::Revoked);
        }
        let result = match decode_frame(&frame, Side::Hub) {
            Ok(msg) => step(state, &org, session, msg).await,
            Err(e) => Err(SyncError::Frame(e)),
        };
        let out = match result {
            Ok(out) => out,
            Err(e) => {
                if let Some(reply) = e.to_peer() {
                    if let Ok(bytes) = encode_frame(&reply) {
                        let _ = stream.send_frame(&bytes).await;
                        let _ = tokio::time::timeout(Duration::from_secs(5), stream.finish_and_wait()).await;
                    }
                }
                return Err(e.into());
            }
        };
        let done = {
            let s = session.lock().unwrap_or_else(|p| p.into_inner());
            s.is_done().then(|| s.outcome().clone())
        };
        if let Some(outcome) = &done {
            // Recorded before the node hears Bye: once its sync reports success, `node list`
            // shows it.
            let (st, name, outcome) = (state.clone(), node.to_string(), outcome.clone());
            let _ = tokio::task::spawn_blocking(move || st.record(&name, &outcome, None)).await;
        }
        for m in &out {
            let bytes = encode_frame(m).map_err(SyncError::from)?;
            stream.send_frame(&bytes).await?;
        }
        if done.is_some() {
            // The node closes the connection once it has our Bye; wait until it has it.
            let _ = tokio::time::timeout(Duration::from_secs(10), stream.finish_and_wait()).await;
            return Ok(());
        }
    }
}

/// Revisions of a push batch applied under the write lock at a time. The store's log is one
/// sequence, so pushes are written one at a time; in pieces this size, no node's batch (nor the
/// batches a dead node left queued) holds another node's sync up for more than one piece.
pub const PUSH_PIECE: usize = 512;

/// Handles one message from the node. A push batch is handled in pieces of [`PUSH_PIECE`]
/// revisions, each under the write lock on its own, and answered with one acknowledgement:
/// every piece but the last moves no cursor (it names no log range), the last carries the
/// batch's range.
async fn step(
    state: &Arc<HubState>,
    org: &Arc<Org>,
    session: &Arc<Mutex<HubSession>>,
    msg: Message,
) -> std::result::Result<Vec<Message>, SyncError> {
    let Message::PushBatch(mut b) = msg else {
        return step_one(state, org, session, msg).await;
    };
    if b.revisions.len() <= PUSH_PIECE {
        return step_one(state, org, session, Message::PushBatch(b)).await;
    }
    let mut rest = std::mem::take(&mut b.revisions);
    // A revision twice in one batch counts once, as when the batch is handled whole.
    let mut seen = std::collections::HashSet::with_capacity(rest.len());
    rest.retain(|r| seen.insert(r.id));
    let mut merged: Option<baoxue_shared::sync::PushAck> = None;
    while !rest.is_empty() {
        let tail = rest.split_off(rest.len().min(PUSH_PIECE));
        let piece = std::mem::replace(&mut rest, tail);
        let last = rest.is_empty();
        let part = PushBatch {
            from: b.from,
            up_to: if last { b.up_to } else { b.from },
            last: if last { b.last } else { None },
            revisions: piece,
        };
        for m in step_one(state, org, session, Message::PushBatch(part)).await? {
            let Message::PushAck(a) = m else {
                return Ok(vec![m]);
            };
            match &mut merged {
                None => merged = Some(a),
                Some(acc) => {
                    acc.up_to = a.up_to;
                    acc.new += a.new;
                    acc.known += a.known;
                    acc.rejected.extend(a.rejected);
                    for c in a.conflicts {
                        if !acc.conflicts.contains(&c) {
                            acc.conflicts.push(c);
                        }
                    }
                }
            }
        }
    }
    Ok(merged.map(|a| vec![Message::PushAck(a)]).unwrap_or_default())
}

async fn step_one(
    state: &Arc<HubState>,
    org: &Arc<Org>,
    session: &Arc<Mutex<HubSession>>,
    msg: Message,
) -> std::result::Result<Vec<Message>, SyncError> {
    let (state, org, session) = (state.clone(), org.clone(), session.clone());
    let writes = matches!(msg, Message::Hello(_) | Message::PushBatch(_));
    let guard = if writes { Some(state.write.clone().lock_owned().await) } else { None };
    tokio::task::spawn_blocking(move || {
        let _guard = guard;
        let mut replica = StoreHub::new(&state.store, org, &state.scopes);
        let mut s = session.lock().unwrap_or_else(|p| p.into_inner());
        s.handle(&mut replica, msg, now_ms())
    })
    .await
    .unwrap_or_else(|e| Err(SyncError::Store(baoxue_shared::sync::StoreFault(format!("同步线程异常结束：{e}")))))
}
