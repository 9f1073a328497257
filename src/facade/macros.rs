//! `count!` and `timed!`. Named so that they never clash with the `metrics` macros
//! (`counter!`, `gauge!`, `histogram!`) when both are imported.

/// Adds to a counter: `count!(name)` adds 1, `count!(name, n)` adds `n` (any integer type;
/// a negative `n` subtracts).
///
/// The name is any `&str`, `String` or `Cow<str>` expression. The increment is summed in
/// memory on the calling thread's shard (no I/O, no lock shared by all threads) per counter
/// and second of the pipeline's clock, and written by the worker once per flush: one
/// `HINCRBY` per precision and bucket however many increments there were. Redis then holds
/// the counter at every precision (`count:<precision>:<name>`, see
/// [`PRECISIONS`](crate::store::PRECISIONS)).
///
/// The pipeline fed is the one of the current `tracing` dispatcher's
/// [`RedisLayer`](crate::RedisLayer), else of the installed
/// [`RedisLogger`](crate::RedisLogger). With neither, `count!` does nothing and costs about
/// two atomic loads.
///
/// ```
/// use tracing_redis::count;
///
/// # let bytes = vec![0u8; 1500];
/// count!("jobs.done");
/// count!("bytes.sent", bytes.len());
/// count!(format!("jobs.by_queue;queue={}", "mail"));
/// count!("jobs.pending", -1);
/// ```
#[macro_export]
macro_rules! count {
    ($name:expr $(,)?) => {
        $crate::__private::count(&$name, 1)
    };
    ($name:expr, $n:expr $(,)?) => {
        $crate::__private::count(&$name, $crate::__private::CountValue::into_count($n))
    };
}

/// Times an expression (usually a block) into the statistics of a context and returns its
/// value: one `AccessTime` sample of the elapsed seconds, and the context's mean in
/// `slowest:AccessTime`, as for a closed span. Also recorded when the block returns early
/// (`return`, `?`) or panics. With no pipeline (see [`count!`]) it only runs the block.
///
/// ```
/// use tracing_redis::timed;
///
/// fn parse(input: &str) -> Result<u64, std::num::ParseIntError> {
///     let n = timed!("parse", { input.trim().parse::<u64>()? });
///     Ok(n * 2)
/// }
/// assert_eq!(parse(" 21 "), Ok(42));
/// assert!(parse("x").is_err()); // timed as well
/// ```
///
/// The context may be any `&'static str`, `String` or `Cow<'static, str>`. For a guard that
/// spans more than one expression, use [`Timer`](crate::Timer).
#[macro_export]
macro_rules! timed {
    ($context:expr, $body:expr $(,)?) => {{
        let _tracing_redis_timer = $crate::Timer::start($context);
        $body
    }};
}
