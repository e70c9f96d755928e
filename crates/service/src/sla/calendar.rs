//! Business hours: a week of opening periods in one time zone, and days closed all day
//! (once, or every year on the same date). The arithmetic is on real instants: a day
//! when the clocks go forward has an hour less of an overnight period, and one when
//! they go back an hour more, exactly as a person on duty lives them.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

/// Minutes in a day: an opening period may end at 24:00.
pub const DAY_MINUTES: u16 = 1440;
/// How far ahead an answer is looked for before a calendar counts as never open (ten
/// years: a calendar with opening hours always answers well within it).
const HORIZON_DAYS: u32 = 3660;
/// At most this many closed days per calendar.
pub const MAX_HOLIDAYS: usize = 400;

/// One opening period of a weekday, in minutes after local midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenPeriod {
    /// 0 is Monday, 6 Sunday.
    pub weekday: u8,
    pub start: u16,
    pub end: u16,
}

/// A day the desk is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Holiday {
    /// One date.
    Once { date: Date },
    /// The same month and day every year.
    Yearly { month: i8, day: i8 },
}

impl Holiday {
    fn closes(&self, date: Date) -> bool {
        match *self {
            Self::Once { date: d } => d == date,
            Self::Yearly { month, day } => date.month() == month && date.day() == day,
        }
    }
}

/// Why a calendar cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CalendarProblem {
    UnknownZone,
    /// A period is empty, backwards, beyond 24:00 or on no weekday.
    BadPeriod,
    /// Two periods of the same day overlap.
    Overlap,
    /// No opening hours at all: no target would ever be due.
    NeverOpen,
    TooManyHolidays,
    BadHoliday,
}

#[derive(Clone, Debug)]
pub struct Calendar {
    zone: TimeZone,
    /// Monday first; each day's periods sorted and apart.
    week: [Vec<(u16, u16)>; 7],
    holidays: Vec<Holiday>,
}

impl Calendar {
    /// A calendar in the IANA time zone `zone` (`Europe/Berlin`).
    pub fn new(zone: &str, periods: &[OpenPeriod], holidays: &[Holiday]) -> Result<Self, CalendarProblem> {
        let zone = TimeZone::get(zone).map_err(|_| CalendarProblem::UnknownZone)?;
        let mut week: [Vec<(u16, u16)>; 7] = Default::default();
        for p in periods {
            if p.weekday > 6 || p.start >= p.end || p.end > DAY_MINUTES {
                return Err(CalendarProblem::BadPeriod);
            }
            week[usize::from(p.weekday)].push((p.start, p.end));
        }
        for day in &mut week {
            day.sort_unstable();
            if day.windows(2).any(|w| w[0].1 > w[1].0) {
                return Err(CalendarProblem::Overlap);
            }
        }
        if week.iter().all(Vec::is_empty) {
            return Err(CalendarProblem::NeverOpen);
        }
        if holidays.len() > MAX_HOLIDAYS {
            return Err(CalendarProblem::TooManyHolidays);
        }
        for h in holidays {
            if let Holiday::Yearly { month, day } = *h
                && Date::new(2024, month, day).is_err()
            {
                return Err(CalendarProblem::BadHoliday);
            }
        }
        Ok(Self {
            zone,
            week,
            holidays: holidays.to_vec(),
        })
    }

    /// The instant `business_ms` of opening time after `start_ms` (both Unix
    /// milliseconds); `None` only past the ten-year horizon.
    pub fn add(&self, start_ms: i64, business_ms: i64) -> Option<i64> {
        let mut remaining = business_ms.max(0);
        if remaining == 0 {
            return Some(start_ms);
        }
        let mut date = self.local_date(start_ms)?;
        for _ in 0..HORIZON_DAYS {
            for (open, close) in self.open_periods(date) {
                if close <= start_ms {
                    continue;
                }
                let from = open.max(start_ms);
                let available = close - from;
                if available >= remaining {
                    return Some(from + remaining);
                }
                remaining -= available;
            }
            date = date.tomorrow().ok()?;
        }
        None
    }

    /// Opening time, in milliseconds, between two instants (zero when `to` is not after
    /// `from`).
    pub fn between(&self, from_ms: i64, to_ms: i64) -> i64 {
        if to_ms <= from_ms {
            return 0;
        }
        let (Some(mut date), Some(last)) = (self.local_date(from_ms), self.local_date(to_ms)) else {
            return 0;
        };
        let mut total = 0;
        while date <= last {
            for (open, close) in self.open_periods(date) {
                let (a, b) = (open.max(from_ms), close.min(to_ms));
                if b > a {
                    total += b - a;
                }
            }
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => break,
            }
        }
        total
    }

    fn local_date(&self, ms: i64) -> Option<Date> {
        let at = Timestamp::from_millisecond(ms).ok()?;
        Some(at.to_zoned(self.zone.clone()).date())
    }

    /// The date's opening periods as instants (Unix milliseconds), in order.
    fn open_periods(&self, date: Date) -> Vec<(i64, i64)> {
        if self.holidays.iter().any(|h| h.closes(date)) {
            return Vec::new();
        }
        let weekday = usize::try_from(date.weekday().to_monday_zero_offset()).unwrap_or(0);
        self.week[weekday]
            .iter()
            .filter_map(|&(start, end)| Some((self.instant(date, start)?, self.instant(date, end)?)))
            .filter(|(a, b)| b > a)
            .collect()
    }

    /// The instant of local `minute` on `date`; a time the clocks skip counts as the
    /// moment after the gap.
    fn instant(&self, date: Date, minute: u16) -> Option<i64> {
        let (date, minute) = if minute >= DAY_MINUTES {
            (date.tomorrow().ok()?, 0)
        } else {
            (date, minute)
        };
        let hour = i8::try_from(minute / 60).ok()?;
        let min = i8::try_from(minute % 60).ok()?;
        let local = date.at(hour, min, 0, 0);
        let zoned = self.zone.to_ambiguous_zoned(local).compatible().ok()?;
        Some(zoned.timestamp().as_millisecond())
    }
}

/// `HH:MM` (00:00 to 24:00) as minutes after midnight.
pub fn parse_clock(text: &str) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    let minutes = h * 60 + m;
    (m < 60 && minutes <= DAY_MINUTES).then_some(minutes)
}

/// Minutes after midnight as `HH:MM`.
pub fn format_clock(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn at(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_millisecond()
    }

    fn weekdays(start: u16, end: u16) -> Vec<OpenPeriod> {
        (0..5).map(|weekday| OpenPeriod { weekday, start, end }).collect()
    }

    fn office(zone: &str, holidays: &[Holiday]) -> Calendar {
        Calendar::new(zone, &weekdays(9 * 60, 17 * 60), holidays).unwrap()
    }

    fn date(text: &str) -> Date {
        text.parse().unwrap()
    }

    #[test]
    fn a_target_across_a_weekend_and_berlins_spring_change() {
        let berlin = office("Europe/Berlin", &[]);
        // Friday 27 March 2026, 16:00 CET; the clocks go forward on Sunday the 29th.
        let friday = at("2026-03-27T15:00:00Z");
        // One hour on Friday, the second on Monday from 09:00 CEST (UTC+2).
        assert_eq!(berlin.add(friday, 2 * HOUR), Some(at("2026-03-30T08:00:00Z")));
        assert_eq!(berlin.between(friday, at("2026-03-30T08:00:00Z")), 2 * HOUR);
        // Begun on Saturday: nothing counts until Monday morning.
        assert_eq!(
            berlin.add(at("2026-03-28T10:00:00Z"), 30 * 60_000),
            Some(at("2026-03-30T07:30:00Z"))
        );
    }

    #[test]
    fn new_york_springs_forward_two_weeks_earlier() {
        let new_york = office("America/New_York", &[]);
        // Friday 6 March 2026, 16:30 EST (UTC-5); DST begins Sunday the 8th.
        let friday = at("2026-03-06T21:30:00Z");
        assert_eq!(new_york.add(friday, HOUR), Some(at("2026-03-09T13:30:00Z")));
        // The same local hours on the Monday before the change are an hour later in UTC.
        assert_eq!(
            new_york.add(at("2026-02-27T21:30:00Z"), HOUR),
            Some(at("2026-03-02T14:30:00Z"))
        );
    }

    #[test]
    fn holidays_once_and_every_year_are_skipped() {
        let berlin = office(
            "Europe/Berlin",
            &[
                Holiday::Once {
                    date: date("2026-12-24"),
                },
                Holiday::Yearly { month: 12, day: 25 },
                Holiday::Yearly { month: 12, day: 26 },
            ],
        );
        // Wednesday 23 December 2026, 16:00 CET: one hour that day; Thursday (once),
        // Friday (yearly) and the weekend closed; Monday 28th from 09:00.
        let start = at("2026-12-23T15:00:00Z");
        assert_eq!(berlin.add(start, 3 * HOUR), Some(at("2026-12-28T10:00:00Z")));
        // The yearly days close again the next year; the one-off day does not.
        let next_year = at("2027-12-23T15:00:00Z"); // a Thursday
        assert_eq!(berlin.add(next_year, 3 * HOUR), Some(at("2027-12-24T10:00:00Z")));
    }

    #[test]
    fn days_of_23_and_25_hours_in_both_zones() {
        let sundays = [OpenPeriod {
            weekday: 6,
            start: 0,
            end: DAY_MINUTES,
        }];
        let berlin = Calendar::new("Europe/Berlin", &sundays, &[]).unwrap();
        let new_york = Calendar::new("America/New_York", &sundays, &[]).unwrap();
        // Berlin: 29 March 2026 has 23 hours, 25 October 2026 has 25.
        assert_eq!(
            berlin.between(at("2026-03-28T00:00:00Z"), at("2026-03-31T00:00:00Z")),
            23 * HOUR
        );
        assert_eq!(
            berlin.between(at("2026-10-24T00:00:00Z"), at("2026-10-27T00:00:00Z")),
            25 * HOUR
        );
        // New York: 8 March 2026 has 23 hours, 1 November 2026 has 25.
        assert_eq!(
            new_york.between(at("2026-03-07T12:00:00Z"), at("2026-03-10T00:00:00Z")),
            23 * HOUR
        );
        assert_eq!(
            new_york.between(at("2026-10-31T12:00:00Z"), at("2026-11-03T00:00:00Z")),
            25 * HOUR
        );
        // 24 hours of Sunday from a Saturday in Berlin's autumn end at 23:00 local.
        assert_eq!(
            berlin.add(at("2026-10-24T12:00:00Z"), 24 * HOUR),
            Some(at("2026-10-25T22:00:00Z"))
        );
    }

    #[test]
    fn a_year_of_targets_adds_up_in_both_zones() {
        for zone in ["Europe/Berlin", "America/New_York"] {
            let mut periods = weekdays(8 * 60, 12 * 60);
            periods.extend(weekdays(13 * 60, 18 * 60 + 30));
            periods.push(OpenPeriod {
                weekday: 5,
                start: 22 * 60,
                end: DAY_MINUTES,
            });
            let calendar = Calendar::new(zone, &periods, &[Holiday::Yearly { month: 1, day: 1 }]).unwrap();
            let mut start = at("2026-01-01T00:00:00Z");
            let end = at("2027-01-01T00:00:00Z");
            let mut checked = 0;
            while start < end {
                for target in [HOUR / 4, 4 * HOUR, 27 * HOUR] {
                    let due = calendar.add(start, target).unwrap();
                    assert!(due > start);
                    assert_eq!(calendar.between(start, due), target, "{zone} from {start}");
                    // Due at the end of an opening period, never in closed time after it.
                    assert_eq!(
                        calendar.between(start, due - 1),
                        target - 1,
                        "{zone} from {start}"
                    );
                }
                start += 7 * HOUR + 37 * 60_000;
                checked += 1;
            }
            assert!(checked > 1100, "{checked}");
        }
    }

    #[test]
    fn unusable_calendars_are_refused() {
        assert_eq!(
            Calendar::new("Mars/Olympus", &weekdays(540, 1020), &[]).err(),
            Some(CalendarProblem::UnknownZone)
        );
        assert_eq!(
            Calendar::new("UTC", &weekdays(1020, 540), &[]).err(),
            Some(CalendarProblem::BadPeriod)
        );
        let overlapping = [
            OpenPeriod {
                weekday: 0,
                start: 540,
                end: 720,
            },
            OpenPeriod {
                weekday: 0,
                start: 700,
                end: 800,
            },
        ];
        assert_eq!(
            Calendar::new("UTC", &overlapping, &[]).err(),
            Some(CalendarProblem::Overlap)
        );
        assert_eq!(
            Calendar::new("UTC", &[], &[]).err(),
            Some(CalendarProblem::NeverOpen)
        );
        assert_eq!(
            Calendar::new(
                "UTC",
                &weekdays(540, 1020),
                &[Holiday::Yearly { month: 2, day: 30 }]
            )
            .err(),
            Some(CalendarProblem::BadHoliday)
        );
        assert_eq!(parse_clock("09:30"), Some(570));
        assert_eq!(parse_clock("24:00"), Some(1440));
        assert_eq!(parse_clock("24:01"), None);
        assert_eq!(parse_clock("9:30"), None);
        assert_eq!(format_clock(570), "09:30");
    }
}
