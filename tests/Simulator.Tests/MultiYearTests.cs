using System.Security.Cryptography;
using System.Text;
using Beacon.Simulator;

namespace Beacon.Simulator.Tests;

public class MultiYearTests
{
    private static readonly MultiYearOptions Small = new(Seed: 5, Years: 3, Schools: 2, StudentsPerSchool: 200);
    private static readonly MultiYearDistrict District = MultiYearGenerator.Generate(Small);

    [Fact]
    public void The_same_seed_gives_the_same_district_and_another_seed_a_different_one()
    {
        var again = MultiYearGenerator.Generate(Small);
        var other = MultiYearGenerator.Generate(Small with { Seed = 6 });
        for (var y = 0; y < 3; y++)
        {
            Assert.Equal(District.Years[y].Attendance, again.Years[y].Attendance);
            Assert.Equal(District.Years[y].Exits, again.Years[y].Exits);
            Assert.Equal(District.Years[y].Truth, again.Years[y].Truth);
        }
        Assert.NotEqual(District.Years[0].Attendance, other.Years[0].Attendance);
    }

    [Fact]
    public void Each_year_has_a_calendar_with_breaks_and_no_record_falls_on_a_break_a_weekend_or_after_the_students_exit()
    {
        Assert.Equal(["2022-2023", "2023-2024", "2024-2025"], District.Years.Select(y => y.Calendar.Label));
        foreach (var year in District.Years)
        {
            var calendar = year.Calendar;
            Assert.Contains(calendar.Breaks, b => b.Description == "winter break" && b.From.Month == 12);
            Assert.InRange(calendar.SchoolDays.Count, 170, 195);
            var schoolDays = calendar.SchoolDays.ToHashSet();
            var exits = year.Exits.ToDictionary(e => e.StudentId);
            Assert.All(year.Attendance, a =>
            {
                Assert.Contains(a.Date, schoolDays);
                Assert.DoesNotContain(calendar.Breaks, b => a.Date >= b.From && a.Date <= b.To);
                Assert.True(!exits.TryGetValue(a.StudentId, out var exit) || a.Date <= exit.Date, $"{a.StudentId} has a record on {a.Date} after leaving");
            });
            // A student still enrolled has a record on every school day.
            var stayed = year.Students.Where(s => !exits.ContainsKey(s.StudentId) || exits[s.StudentId].ExitCode == "graduated").Select(s => s.StudentId).ToHashSet();
            Assert.All(year.Attendance.Where(a => stayed.Contains(a.StudentId)).GroupBy(a => a.StudentId), g => Assert.Equal(calendar.SchoolDays.Count, g.Count()));
        }
        // A short year for small test districts: cut after N school days, breaks before the cut kept.
        var cut = MultiYearGenerator.Calendar(2022, 40);
        Assert.Equal(40, cut.SchoolDays.Count);
        Assert.Contains(cut.Breaks, b => b.Description == "Labor Day");
    }

    [Fact]
    public void Cohorts_carry_across_years_the_12th_grade_graduates_a_new_9th_grade_enters_and_exits_have_reasons()
    {
        for (var y = 1; y < District.Years.Count; y++)
        {
            var before = District.Years[y - 1];
            var after = District.Years[y];
            var then = before.Students.ToDictionary(s => s.StudentId);
            var left = before.Exits.Select(e => e.StudentId).ToHashSet();
            foreach (var s in after.Students.Where(s => then.ContainsKey(s.StudentId)))
            {
                Assert.Equal(int.Parse(then[s.StudentId].Grade) + 1, int.Parse(s.Grade));
                Assert.DoesNotContain(s.StudentId, left);
            }
            // Everyone who did not leave is back, and a new 9th grade (200 / 4 per school) entered.
            Assert.Equal(before.Students.Count - left.Count, after.Students.Count(s => then.ContainsKey(s.StudentId)));
            Assert.Equal(2 * 50, after.Students.Count(s => !then.ContainsKey(s.StudentId)));
            Assert.All(after.Students.Where(s => !then.ContainsKey(s.StudentId)), s => Assert.Equal("9", s.Grade));
        }
        foreach (var year in District.Years)
        {
            var grade = year.Students.ToDictionary(s => s.StudentId, s => s.Grade);
            Assert.All(year.Exits, e => Assert.Contains(e.ExitCode, new[] { "graduated", "transferred", "dropped-out" }));
            Assert.All(year.Exits.Where(e => e.ExitCode == "graduated"), e => Assert.Equal(("12", year.Calendar.LastDay), (grade[e.StudentId], e.Date)));
            var twelfth = year.Students.Count(s => s.Grade == "12");
            Assert.InRange(year.Exits.Count(e => e.ExitCode == "graduated"), twelfth * 0.8, twelfth);
            Assert.InRange(year.Exits.Count(e => e.ExitCode == "dropped-out"), year.Students.Count * 0.03, year.Students.Count * 0.15);
            Assert.InRange(year.Exits.Count(e => e.ExitCode == "transferred"), 1, year.Students.Count * 0.07);
            // A dropout leaves after the scoring window (the 30th school day) or in the summer after the year.
            Assert.All(year.Exits.Where(e => e.ExitCode == "dropped-out"), e => Assert.True(e.Date > year.Calendar.SchoolDays[29]));
            Assert.Contains(year.Exits, e => e.ExitCode == "dropped-out" && e.Date > year.Calendar.LastDay);
        }
    }

    [Fact]
    public void The_truth_matches_the_signals_and_the_process_is_not_the_single_year_generators()
    {
        foreach (var year in District.Years)
        {
            var days = year.Attendance.ToLookup(a => a.StudentId);
            foreach (var t in year.Truth)
            {
                var mine = days[t.StudentId].ToList();
                var rate = mine.Count == 0 ? 0 : (double)mine.Count(a => a.Status is "absent" or "excused-absent") / mine.Count;
                Assert.Equal(mine.Count, t.DaysEnrolled);
                Assert.Equal(Math.Round(rate, 4), t.AbsenceRate);
                Assert.Equal(rate >= 0.10, t.ChronicallyAbsent);
                Assert.Equal(t.DroppedOut, t.Exit?.ExitCode == "dropped-out");
            }
            var chronic = year.Truth.Count(t => t.ChronicallyAbsent);
            Assert.InRange(chronic, year.Truth.Count * 0.12, year.Truth.Count * 0.35);
            // Lateness comes from the bus routes, not from risk: within a school, the chronically absent are not later than the rest.
            foreach (var school in District.Schools)
            {
                var ids = year.Students.Where(s => s.SchoolId == school.SchoolId).Select(s => s.StudentId).ToHashSet();
                double TardyRate(bool chronicallyAbsent) => year.Truth.Where(t => ids.Contains(t.StudentId) && t.ChronicallyAbsent == chronicallyAbsent)
                    .Average(t => (double)days[t.StudentId].Count(a => a.Status == "tardy") / Math.Max(1, t.DaysEnrolled));
                Assert.True(TardyRate(true) <= TardyRate(false) + 0.01, $"{school.SchoolId}: tardies go with chronic absence");
            }
            // The sliders: absence after the winter break is higher than before it.
            var winter = year.Calendar.Breaks.Single(b => b.Description == "winter break");
            var before = year.Attendance.Where(a => a.Date < winter.From).ToList();
            var after = year.Attendance.Where(a => a.Date > winter.To).ToList();
            Assert.True(after.Average(a => a.Status is "absent" or "excused-absent" ? 1.0 : 0) > before.Average(a => a.Status is "absent" or "excused-absent" ? 1.0 : 0));
            // No learning platform in this district.
        }
        Assert.NotEqual(DistrictGenerator.DropoutModel, MultiYearGenerator.DropoutModel);
    }

    [Fact]
    public void The_single_year_generators_output_for_a_seed_is_unchanged()
    {
        // A fingerprint of seed 7's single-year district (other tests and recorded figures depend on it).
        var d = DistrictGenerator.Generate(new SimulationOptions(Seed: 7, Schools: 3, StudentsPerSchool: 40, SchoolDays: 30, LastDay: new DateOnly(2026, 10, 30)));
        var text = string.Join('\n', d.Attendance.Select(a => $"{a.StudentId},{a.Date:yyyy-MM-dd},{a.Status}")
            .Concat(d.Grades.Select(g => FormattableString.Invariant($"{g.StudentId},{g.CourseId},{g.MarkPercent}")))
            .Concat(d.Truth.Outcomes.Select(o => FormattableString.Invariant($"{o.StudentId},{o.DropoutProbability},{o.DroppedOut}"))));
        Assert.Equal("1F9D269CA12DC4E2", Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16]);
    }
}
