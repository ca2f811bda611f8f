//! Randomness for retry schedules.

use chrono::TimeDelta;
use rand::TryRng as _;
use rekey_application::ports::Jitter;

/// Uniform jitter from the OS random source (not secret, but there is no reason for a second
/// generator). If the source fails, it answers half the range rather than failing a delivery.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsJitter;

impl Jitter for OsJitter {
    fn below(&self, max: TimeDelta) -> TimeDelta {
        let Ok(micros) = u64::try_from(max.num_microseconds().unwrap_or(i64::MAX)) else {
            return TimeDelta::zero();
        };
        if micros == 0 {
            return TimeDelta::zero();
        }
        let draw = rand::rngs::SysRng.try_next_u64().unwrap_or(u64::MAX / 2);
        // Multiply-shift maps the draw onto [0, micros) without division bias worth noting
        // for a schedule.
        let scaled = (u128::from(draw) * u128::from(micros)) >> 64;
        TimeDelta::microseconds(i64::try_from(scaled).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_below_the_bound_and_spreads() {
        let max = TimeDelta::seconds(10);
        let draws: Vec<TimeDelta> = (0..2_000).map(|_| OsJitter.below(max)).collect();
        assert!(draws.iter().all(|d| *d >= TimeDelta::zero() && *d < max));
        let low = draws.iter().filter(|d| **d < TimeDelta::seconds(5)).count();
        assert!(
            (800..1200).contains(&low),
            "about half below the middle: {low}"
        );
        assert_eq!(OsJitter.below(TimeDelta::zero()), TimeDelta::zero());
    }
}
