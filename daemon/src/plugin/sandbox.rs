//! One plugin call in a sandbox: a `Store` whose only host functions are hookd's crypto and
//! `wasi:random` (every other WASI import traps: see [`super::wasi`]), a memory limit and an
//! epoch deadline; instances reused across calls while they behave, discarded as soon as one
//! traps, runs out of time or memory, or returns an invalid verdict.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use wasmtime::{Engine, ResourceLimiter, Store, Trap};

use super::Plugin;
use crate::config::PluginsConfig;
use hookd_verify::{Outcome, Reject, Reply};

/// Host bindings generated from `plugin-sdk/wit/verifier.wit` (contract 0.3.0, the current one).
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../plugin-sdk/wit",
        world: "verifier",
        ownership: Borrowing { duplicate_if_necessary: false },
    });
}

/// Host bindings of contract 0.2.0 (`plugin-sdk/wit/since_v0.2.0/verifier.wit`): plugins built
/// for it are called through these, with the 0.3.0 request minus what 0.2.0 lacks.
pub mod bindings_v0_2 {
    wasmtime::component::bindgen!({
        path: "../plugin-sdk/wit/since_v0.2.0",
        world: "verifier",
        ownership: Borrowing { duplicate_if_necessary: false },
    });
}

use bindings::hookd::verifier::types::{Handshake, RejectReason, Request, Verdict};
use bindings_v0_2::hookd::verifier::types as v0_2;

/// A plugin's pre-linked component, by the contract version it was built for.
pub(crate) enum Pre {
    /// Contract 0.3.0.
    V0_3(bindings::VerifierPre<HostState>),
    /// Contract 0.2.0.
    V0_2(bindings_v0_2::VerifierPre<HostState>),
}

/// An instance's exports, by contract version.
enum Bound {
    V0_3(bindings::Verifier),
    V0_2(bindings_v0_2::Verifier),
}

/// The 0.2.0 request: the 0.3.0 one without scheme, authority and URL (all borrowed).
fn request_v0_2<'a>(r: &Request<'a>) -> v0_2::Request<'a> {
    v0_2::Request {
        method: r.method,
        target: r.target,
        headers: r.headers,
        body: r.body,
        now_unix_seconds: r.now_unix_seconds,
        url_verified: r.url_verified,
        settings: v0_2::Settings {
            secrets: r.settings.secrets,
            params: r.settings.params,
            tolerance_seconds: r.settings.tolerance_seconds,
        },
    }
}

/// A 0.2.0 verdict as the (identical) 0.3.0 one.
fn verdict_from_v0_2(v: v0_2::Verdict) -> Verdict {
    match v {
        v0_2::Verdict::Accept(id) => Verdict::Accept(id),
        v0_2::Verdict::Reject(r) => Verdict::Reject(match r {
            v0_2::RejectReason::MissingSignature => RejectReason::MissingSignature,
            v0_2::RejectReason::BadSignature => RejectReason::BadSignature,
            v0_2::RejectReason::StaleTimestamp => RejectReason::StaleTimestamp,
            v0_2::RejectReason::Malformed => RejectReason::Malformed,
        }),
        v0_2::Verdict::Handshake(h) => Verdict::Handshake(Handshake {
            status: h.status,
            content_type: h.content_type,
            body: h.body,
        }),
    }
}

/// Longest delivery id a plugin may return (the Kafka key carries it).
pub const MAX_DELIVERY_ID: usize = 256;
/// Longest handshake `Content-Type`.
pub const MAX_CONTENT_TYPE: usize = 256;

/// Sandbox limits, from `[plugins]`.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Linear memory per instance, bytes.
    pub memory_bytes: usize,
    /// Epoch ticks (1 ms of wall-clock time) a call may run: `deadline_ms`. A call still
    /// keeping its thread busy then is stopped; one the machine did not schedule gets more
    /// ticks, up to `4 × deadline_ms` in all (see `Watch`).
    pub deadline_ticks: u64,
    /// Idle instances kept per plugin.
    pub pool_size: usize,
    /// Calls of one plugin running at once.
    pub max_concurrent_calls: usize,
    /// Largest handshake body, bytes.
    pub max_output_bytes: usize,
    /// Log lines per second per plugin.
    pub log_lines_per_second: u32,
}

impl Limits {
    /// From the validated `[plugins]` section.
    pub fn from_config(c: &PluginsConfig) -> Limits {
        Limits {
            memory_bytes: usize::try_from(c.memory_limit_bytes).unwrap_or(usize::MAX),
            deadline_ticks: c.deadline_ms,
            pool_size: c.pool_size,
            max_concurrent_calls: c.max_concurrent_calls,
            max_output_bytes: c.max_output_bytes,
            log_lines_per_second: c.log_lines_per_second,
        }
    }

    /// Extra ticks a call that is not getting the CPU may be granted.
    fn grace_ticks(&self) -> u64 {
        self.deadline_ticks.saturating_mul(3).max(2)
    }
}

/// Why a plugin call produced no verdict. The request gets 500 `plugin_error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// Ran past its deadline (stopped by the epoch interrupt).
    #[error("the plugin ran past its deadline")]
    Deadline,
    /// Tried to grow its memory past the limit.
    #[error("the plugin exceeded its memory limit")]
    Memory,
    /// Trapped (panic, unreachable, out-of-bounds access, stack overflow, …).
    #[error("the plugin trapped")]
    Trap,
    /// Returned an invalid or oversized verdict.
    #[error("the plugin returned an invalid verdict")]
    Output,
    /// The webhook's plugin is not loaded (removed by a reload).
    #[error("the plugin is not loaded")]
    Missing,
    /// A fresh instance could not be created.
    #[error("the plugin could not be instantiated")]
    Instantiate,
}

impl Failure {
    /// The `kind` label of `hookd_plugin_errors_total`.
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::Deadline => "deadline",
            Failure::Memory => "memory",
            Failure::Trap => "trap",
            Failure::Output => "output",
            Failure::Missing => "missing",
            Failure::Instantiate => "instantiate",
        }
    }
}

/// A verdict that passed the host's checks: what the verifier answers.
pub type Checked = Result<Outcome, Reject>;

/// One call and what it cost ([`Plugin::call_measured`]).
#[derive(Debug)]
pub struct Measured {
    /// The verdict, or why there is none.
    pub result: Result<Checked, Failure>,
    /// Time to create the instance.
    pub instantiate: Duration,
    /// Time of the call.
    pub call: Duration,
    /// The largest the instance's linear memory grew, bytes.
    pub memory_bytes: usize,
}

/// Per-store host state.
pub struct HostState {
    limiter: MemoryLimiter,
    watch: Watch,
    ticks: Ticks,
    /// The plugin's log (the `log` import, printed output).
    pub(super) log: Arc<super::log::PluginLog>,
    /// What the current call printed (written to `log` when it ends).
    pub(super) output: super::stdio::Output,
}

/// Epoch ticks since the host started, counted next to the engine's epoch (wasmtime does not
/// expose the current epoch). A deadline check can only run while its call's thread runs, so
/// after the thread waited for the CPU several ticks have passed at one check: deadlines are
/// kept in ticks of this counter, not in numbers of checks.
///
/// Ticks only matter while a call (or instantiation) runs: the ticker thread parks after
/// [`Ticks::PARK_AFTER`] ticks without one ([`Ticks::idle_wait`]) and the next call wakes it
/// ([`Ticks::busy`]), so an idle host does not wake up a thousand times a second.
#[derive(Debug, Clone, Default)]
pub struct Ticks(Arc<TickState>);

#[derive(Debug, Default)]
struct TickState {
    now: AtomicU64,
    /// Calls and instantiations running.
    active: AtomicUsize,
    /// The ticker is parked (or about to park).
    parked: AtomicBool,
    ticker: OnceLock<std::thread::Thread>,
}

/// A call or instantiation in flight (see [`Ticks::busy`]).
pub(crate) struct Busy<'a>(&'a TickState);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Ticks {
    /// Ticks without a call in flight after which the ticker parks.
    pub(crate) const PARK_AFTER: u32 = 100;

    /// One more tick; called by the ticker thread just before it increments the engine's epoch.
    pub(crate) fn advance(&self) {
        self.0.now.fetch_add(1, Ordering::Relaxed);
    }

    fn now(&self) -> u64 {
        self.0.now.load(Ordering::Relaxed)
    }

    /// Marks a call in flight until the guard drops, waking the ticker if it is parked.
    pub(crate) fn busy(&self) -> Busy<'_> {
        let st = &*self.0;
        st.active.fetch_add(1, Ordering::SeqCst);
        if st.parked.load(Ordering::SeqCst) {
            if let Some(t) = st.ticker.get() {
                t.unpark();
            }
        }
        Busy(st)
    }

    /// Whether no call is in flight.
    pub(crate) fn idle(&self) -> bool {
        self.0.active.load(Ordering::SeqCst) == 0
    }

    /// Called by the ticker thread when it has seen no call for a while: parks until a call
    /// starts or `timeout` passes (so the thread can notice its engine is gone).
    pub(crate) fn idle_wait(&self, timeout: Duration) {
        let st = &*self.0;
        let _ = st.ticker.set(std::thread::current());
        st.parked.store(true, Ordering::SeqCst);
        // A call that started before `parked` was visible did not unpark: check after setting it.
        if st.active.load(Ordering::SeqCst) == 0 {
            std::thread::park_timeout(timeout);
        }
        st.parked.store(false, Ordering::SeqCst);
    }
}

/// What a call's deadline checks need. Epochs count wall-clock time, so a call whose thread a
/// busy machine did not schedule (two tokio workers sharing a core preempt each other for
/// milliseconds) must not be taken for a slow one. No clock is read while calls are quick: the
/// first check comes after [`SLOW_TICKS`] ticks, and from then on every tick samples the
/// thread's CPU time. A call that kept the CPU busy for at least half a tick is marked `slow`
/// (its plugin becomes suspect, see [`super::Slot::run`]). From tick `stop_at` (its
/// `deadline_ms` used up) a busy call is stopped at its next check; one that is not getting the
/// CPU may go on until tick `give_up_at`.
#[derive(Debug, Clone, Copy, Default)]
struct Watch {
    stop_at: u64,
    give_up_at: u64,
    slow: bool,
    cpu_at: Option<Duration>,
}

/// Ticks before a call's first deadline check (see [`Watch`]): [`super::SLOW_CALL`].
const SLOW_TICKS: u64 = (super::SLOW_CALL.as_millis() / super::TICK.as_millis()) as u64;

impl Watch {
    /// Arms the deadline of one call (or instantiation) on `store`.
    fn arm(store: &mut Store<HostState>, limits: &Limits) {
        let data = store.data_mut();
        let stop_at = data.ticks.now().saturating_add(limits.deadline_ticks);
        data.watch = Watch {
            stop_at,
            give_up_at: stop_at.saturating_add(limits.grace_ticks()),
            slow: false,
            cpu_at: None,
        };
        store.set_epoch_deadline(limits.deadline_ticks.min(SLOW_TICKS));
    }

    /// One deadline check at tick `tick`, with the thread's CPU time `cpu`: `Some(n)` to let
    /// the call run `n` more ticks, `None` to stop it.
    fn check(&mut self, tick: u64, cpu: Option<Duration>) -> Option<u64> {
        let busy = match (self.cpu_at, cpu) {
            (Some(before), Some(now)) => now.saturating_sub(before) >= BUSY,
            (None, Some(_)) => false,
            (_, None) => true,
        };
        self.cpu_at = cpu;
        self.slow |= busy;
        let stop = tick >= self.give_up_at || (tick >= self.stop_at && busy);
        (!stop).then_some(1)
    }
}

/// A call that used at least this much CPU in one tick is running, not waiting.
const BUSY: Duration = Duration::from_micros(500);

/// CPU time consumed by the calling thread (`None` if the clock cannot be read).
fn thread_cpu_time() -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// The epoch-deadline callback (see [`Watch`]).
fn on_deadline(
    mut cx: wasmtime::StoreContextMut<'_, HostState>,
) -> wasmtime::Result<wasmtime::UpdateDeadline> {
    let data = cx.data_mut();
    let tick = data.ticks.now();
    Ok(match data.watch.check(tick, thread_cpu_time()) {
        Some(ticks) => wasmtime::UpdateDeadline::Continue(ticks),
        None => wasmtime::UpdateDeadline::Interrupt,
    })
}

struct MemoryLimiter {
    max: usize,
    hit: bool,
    /// The largest linear memory any memory of the instance grew to, bytes.
    peak: usize,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max {
            self.hit = true;
            wasmtime::bail!("memory limit of {} bytes reached", self.max);
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// A live instance and its store.
pub struct Sandbox {
    store: Store<HostState>,
    bindings: Bound,
}

impl Plugin {
    /// A fresh instance (its start-up also runs under the deadline and memory limit).
    pub(crate) fn instantiate(&self, engine: &Engine, limits: &Limits) -> Result<Sandbox, Failure> {
        let _busy = self.ticks.busy();
        let mut store = Store::new(
            engine,
            HostState {
                limiter: MemoryLimiter {
                    max: limits.memory_bytes,
                    hit: false,
                    peak: 0,
                },
                watch: Watch::default(),
                ticks: self.ticks.clone(),
                log: self.log.clone(),
                output: Default::default(),
            },
        );
        store.epoch_deadline_callback(on_deadline);
        store.limiter(|s| &mut s.limiter);
        Watch::arm(&mut store, limits);
        let bound = match &self.pre {
            Pre::V0_3(pre) => pre.instantiate(&mut store).map(Bound::V0_3),
            Pre::V0_2(pre) => pre.instantiate(&mut store).map(Bound::V0_2),
        };
        let data = store.data_mut();
        data.output.flush(&data.log);
        match bound {
            Ok(bindings) => Ok(Sandbox { store, bindings }),
            Err(e) => {
                let f = classify(&e, &store);
                tracing::debug!(plugin = %self.name, error = %format!("{e:#}"), "plugin instantiation failed");
                Err(if f == Failure::Trap {
                    Failure::Instantiate
                } else {
                    f
                })
            }
        }
    }

    /// Runs one call on a pooled instance (a fresh one when none is idle). The instance goes
    /// back to the pool only if the call returned a valid verdict; a call its `Watch` found
    /// slow (or an instantiation that hit the deadline) makes the plugin suspect.
    pub fn call(
        &self,
        engine: &Engine,
        limits: &Limits,
        req: Request<'_>,
    ) -> Result<Checked, Failure> {
        let idle = self.idle.lock().unwrap().pop();
        let mut sb = match idle {
            Some(sb) => sb,
            None => self.instantiate(engine, limits).inspect_err(|f| {
                if *f == Failure::Deadline {
                    self.mark_suspect();
                }
            })?,
        };
        let out = self.run(&mut sb, limits, req);
        if sb.store.data().watch.slow {
            self.mark_suspect();
        }
        if out.is_ok() {
            let mut idle = self.idle.lock().unwrap();
            if idle.len() < limits.pool_size {
                idle.push(sb);
            }
        }
        out
    }

    /// Runs one call on a fresh instance that is dropped afterwards.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))] // benches and e2e tests
    pub fn call_fresh(
        &self,
        engine: &Engine,
        limits: &Limits,
        req: Request<'_>,
    ) -> Result<Checked, Failure> {
        let mut sb = self.instantiate(engine, limits)?;
        self.run(&mut sb, limits, req)
    }

    /// Runs one call on a fresh instance and says what it cost (`hookd plugin call`).
    pub fn call_measured(&self, engine: &Engine, limits: &Limits, req: Request<'_>) -> Measured {
        let t = std::time::Instant::now();
        let sb = self.instantiate(engine, limits);
        let instantiate = t.elapsed();
        let mut sb = match sb {
            Ok(sb) => sb,
            Err(f) => {
                return Measured {
                    result: Err(f),
                    instantiate,
                    call: Duration::ZERO,
                    memory_bytes: 0,
                }
            }
        };
        let t = std::time::Instant::now();
        let result = self.run(&mut sb, limits, req);
        Measured {
            result,
            instantiate,
            call: t.elapsed(),
            memory_bytes: sb.store.data().limiter.peak,
        }
    }

    fn run(&self, sb: &mut Sandbox, limits: &Limits, req: Request<'_>) -> Result<Checked, Failure> {
        let _busy = self.ticks.busy();
        Watch::arm(&mut sb.store, limits);
        let verdict = match &sb.bindings {
            Bound::V0_3(b) => b.call_verify(&mut sb.store, req),
            Bound::V0_2(b) => b
                .call_verify(&mut sb.store, request_v0_2(&req))
                .map(verdict_from_v0_2),
        };
        let data = sb.store.data_mut();
        data.output.flush(&data.log);
        match verdict {
            Ok(v) => check(v, limits),
            Err(e) => {
                let f = classify(&e, &sb.store);
                // The cause in one line (e.g. which WASI function the plugin called), where it
                // is seen: at warn, not under the engine's debug output.
                tracing::warn!(plugin = %self.name, kind = f.kind(), cause = %cause(&e), "plugin call failed");
                Err(f)
            }
        }
    }
}

/// What went wrong, in one line of at most 300 characters: the error's root cause (the trap,
/// or which import the plugin called), without the wasm backtrace.
pub(crate) fn cause(e: &wasmtime::Error) -> String {
    let root = e.root_cause().to_string();
    let line: String = root.lines().next().unwrap_or_default().chars().take(300).collect();
    super::log::clean(&line)
}

fn classify(e: &wasmtime::Error, store: &Store<HostState>) -> Failure {
    if store.data().limiter.hit {
        return Failure::Memory;
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => Failure::Deadline,
        Some(_) => Failure::Trap,
        // A WASI import called (they trap; see super::wasi) ends the call like a trap.
        None if format!("{e:#}").contains("unknown import") => Failure::Trap,
        // Otherwise the result could not be lifted (invalid UTF-8, a list out of bounds, a bad
        // discriminant …): garbage output.
        None => Failure::Output,
    }
}

/// Validates a verdict and turns it into the verifier's answer.
fn check(v: Verdict, limits: &Limits) -> Result<Checked, Failure> {
    Ok(match v {
        Verdict::Accept(id) => {
            let id = id.filter(|s| !s.is_empty());
            if id.as_ref().is_some_and(|s| s.len() > MAX_DELIVERY_ID) {
                return Err(Failure::Output);
            }
            Ok(Outcome::Accept { delivery_id: id })
        }
        Verdict::Reject(r) => Err(match r {
            RejectReason::MissingSignature => Reject::MissingSignature,
            RejectReason::BadSignature => Reject::BadSignature,
            RejectReason::StaleTimestamp => Reject::StaleTimestamp,
            RejectReason::Malformed => Reject::Malformed("the plugin found the request malformed"),
        }),
        Verdict::Handshake(h) => {
            let status = StatusCode::from_u16(h.status)
                .ok()
                .filter(StatusCode::is_success)
                .ok_or(Failure::Output)?;
            if h.content_type.len() > MAX_CONTENT_TYPE || h.body.len() > limits.max_output_bytes {
                return Err(Failure::Output);
            }
            let content_type =
                HeaderValue::from_str(&h.content_type).map_err(|_| Failure::Output)?;
            Ok(Outcome::Reply(Reply {
                status,
                content_type,
                body: Bytes::from(h.body),
            }))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Option<Duration> {
        Some(Duration::from_millis(n))
    }

    /// A call armed at tick 0 with a 5-tick deadline and 2 ticks of grace.
    fn watch() -> Watch {
        Watch {
            stop_at: 5,
            give_up_at: 7,
            ..Watch::default()
        }
    }

    #[test]
    fn a_preempted_call_is_neither_slow_nor_stopped_early() {
        let mut w = watch();
        // The thread got no CPU at all (another worker ran): every check lets it go on.
        for tick in 2..7 {
            assert_eq!(w.check(tick, ms(1)), Some(1), "tick {tick}");
        }
        assert!(!w.slow, "waiting for the CPU is not being slow");
        // Grace used up: stopped even so (a call cannot hold its slot forever).
        assert_eq!(w.check(7, ms(1)), None);
    }

    #[test]
    fn a_busy_call_is_slow_and_stopped_at_its_deadline() {
        let mut w = watch();
        let mut tick = 2; // the first check comes after SLOW_TICKS
        while let Some(n) = w.check(tick, ms(tick)) {
            tick += n;
            assert!(tick < 10, "never stopped");
        }
        assert!(w.slow);
        assert_eq!(tick, 5, "stopped when its deadline was used up");
        // An unreadable clock counts as busy (fail safe).
        let mut w = watch();
        assert_eq!(w.check(5, None), None);
        assert!(w.slow);
    }

    #[test]
    fn ticks_missed_while_descheduled_count_towards_the_deadline() {
        // The thread runs for 1 ms, then waits 2 ms for the CPU: one check every 3 ticks. The
        // deadline is in ticks, not in checks, so the call is stopped at tick 5, its second
        // check (counting checks, it ran until tick 11).
        let mut w = watch();
        let mut cpu = 0;
        let mut tick = 2;
        while w.check(tick, ms(cpu)).is_some() {
            tick += 3;
            cpu += 1;
            assert!(tick < 20, "never stopped");
        }
        assert_eq!(tick, 5, "the first check at its deadline stops a busy call");
    }

    #[test]
    fn the_ticker_parks_without_calls_and_wakes_for_one() {
        let dir = std::env::temp_dir();
        let limits = Limits::from_config(&PluginsConfig::default());
        let host = super::super::PluginHost::new(dir, limits).unwrap();
        let ticks = host.ticks.clone();
        // Polls (generously: a loaded machine) until `f` holds over 1.5 s of sleep (longer than
        // the parked ticker's 1 s timeout).
        let settles = |f: &dyn Fn(u64, u64) -> bool| {
            for _ in 0..40 {
                let a = ticks.now();
                std::thread::sleep(Duration::from_millis(1500));
                if f(a, ticks.now()) {
                    return true;
                }
            }
            false
        };
        assert!(settles(&|a, b| a == b), "the ticker never parked");
        let busy = ticks.busy();
        assert!(settles(&|a, b| b > a), "a call in flight did not wake the ticker");
        drop(busy);
        assert!(settles(&|a, b| a == b), "the ticker did not park again");
    }
}
