using Beacon.Simulator;

namespace Beacon.Simulator.Tests;

public class DistrictGeneratorTests
{
    private static readonly SimulationOptions Small = new(Seed: 7, Schools: 3, StudentsPerSchool: 40, SchoolDays: 30, LastDay: new DateOnly(2026, 10, 30));

    [Fact]
    public void The_same_seed_gives_the_same_district_and_another_seed_a_different_one()
    {
        var a = DistrictGenerator.Generate(Small);
        var b = DistrictGenerator.Generate(Small);
        var c = DistrictGenerator.Generate(Small with { Seed = 8 });
        Assert.Equal(a.Attendance, b.Attendance);
        Assert.Equal(a.Answers, b.Answers);
        Assert.Equal(a.Truth.Outcomes, b.Truth.Outcomes);
        Assert.NotEqual(a.Attendance, c.Attendance);
    }

    [Fact]
    public void Every_student_has_a_record_on_every_school_day_and_no_day_is_a_weekend_or_in_the_future()
    {
        var d = DistrictGenerator.Generate(Small);
        Assert.Equal(120, d.Students.Count);
        Assert.Equal(120 * 30, d.Attendance.Count);
        Assert.All(d.Attendance, a => Assert.True(a.Date <= Small.LastDay && a.Date.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday)));
        Assert.Equal(6, d.Staff.Count(s => s.Role == "counselor"));
    }

    [Fact]
    public void The_ground_truth_matches_the_generated_signals()
    {
        var d = DistrictGenerator.Generate(Small with { StudentsPerSchool = 300 });
        foreach (var outcome in d.Truth.Outcomes)
        {
            var days = d.Attendance.Where(a => a.StudentId == outcome.StudentId).ToList();
            var rate = (double)days.Count(a => a.Status is "absent" or "excused-absent") / days.Count;
            Assert.Equal(Math.Round(rate, 4), outcome.AbsenceRate);
            Assert.Equal(rate >= 0.10, outcome.ChronicallyAbsent);
        }
        // The planted dropout model makes chronic absence a strong signal: dropout is far likelier among them.
        var chronic = d.Truth.Outcomes.Where(o => o.ChronicallyAbsent).ToList();
        var others = d.Truth.Outcomes.Where(o => !o.ChronicallyAbsent).ToList();
        Assert.InRange(chronic.Count, 135, 405);   // 15–45 % of 900: around the 25–30 % US rate of recent years
        Assert.True(chronic.Average(o => o.DropoutProbability) > 2 * others.Average(o => o.DropoutProbability));
    }

    [Fact]
    public void A_skill_answered_by_students_who_already_know_it_is_mostly_correct()
    {
        // BKT ground truth: the share of correct answers on the last attempts tends to 1 - slip as students learn.
        var d = DistrictGenerator.Generate(Small with { StudentsPerSchool = 200, SchoolDays = 60 });
        foreach (var skill in DistrictGenerator.Skills)
        {
            var late = d.Answers.Where(a => a.SkillId == skill.SkillId && a.Attempt > 30).ToList();
            Assert.NotEmpty(late);
            var correct = late.Average(a => a.Correct ? 1.0 : 0.0);
            Assert.InRange(correct, 1 - skill.Slip - 0.05, 1 - skill.Slip + 0.05);
        }
    }

    [Fact]
    public void Lms_sessions_follow_engagement_and_fade_for_disengaging_students()
    {
        var d = DistrictGenerator.Generate(Small with { StudentsPerSchool = 200, SchoolDays = 60 });
        var activeDays = d.Lms.GroupBy(l => l.StudentId).ToDictionary(g => g.Key, g => g.Select(l => l.At.Date).Distinct().Count());
        double Days(StudentInfo s) => activeDays.GetValueOrDefault(s.StudentId);
        var byEngagement = d.Students.OrderBy(s => s.Engagement).ToList();
        var quarter = byEngagement.Count / 4;
        // Engaged students log in on most school days, the least engaged on few.
        Assert.True(byEngagement.TakeLast(quarter).Average(Days) > 2 * byEngagement.Take(quarter).Average(Days));
        // A disengaging student's sessions thin out over the term.
        var half = d.Attendance.Select(a => a.Date).Distinct().Order().ElementAt(30);
        var sliding = d.Lms.Where(l => d.Students.Single(s => s.StudentId == l.StudentId).Engagement < 0.55).ToList();
        Assert.True(sliding.Count(l => DateOnly.FromDateTime(l.At.UtcDateTime) < half) > 1.2 * sliding.Count(l => DateOnly.FromDateTime(l.At.UtcDateTime) >= half));
        Assert.Equal(d.Lms.Count, d.Lms.Select(l => l.StatementId).Distinct().Count());
        // Its own random stream: attendance and answers of a seed are what they were without it.
        Assert.Equal(DistrictGenerator.Generate(Small).Attendance, DistrictGenerator.Generate(Small).Attendance);
    }

    [Fact]
    public void A_previous_year_comes_from_the_same_traits_and_leaves_this_year_as_it_was()
    {
        var options = Small with { StudentsPerSchool = 300 };
        var without = DistrictGenerator.Generate(options);
        var with = DistrictGenerator.Generate(options with { PriorYearDays = 180 });
        var prior = DistrictGenerator.PriorSchoolDays(options.LastDay!.Value, 180);
        var first = without.Attendance.Min(a => a.Date);
        Assert.True(prior[^1] < first, "the previous year ends before this one starts");
        // Its own random stream: this year's records and outcomes are those of the seed without it.
        Assert.Equal(without.Attendance, with.Attendance.Where(a => a.Date >= first));
        Assert.Equal(without.Grades, with.Grades.Where(g => g.Date >= first));
        Assert.Equal(without.Incidents, with.Incidents.Where(i => i.Date >= first));
        Assert.Equal(without.Truth.Outcomes, with.Truth.Outcomes);

        var days = prior.ToHashSet();
        var lastYear = with.Attendance.Where(a => a.Date < first).ToList();
        Assert.Equal(900 * 180, lastYear.Count);
        Assert.All(lastYear, a => Assert.Contains(a.Date, days));
        var marks = with.Grades.Where(g => g.Date < first).ToList();
        Assert.Equal(900 * 4 * 4, marks.Count);   // four courses marked at each quarter's end
        Assert.All(with.Incidents.Where(i => i.Date < first), i => Assert.Contains(i.Date, days));
        // The calendar of both years goes with the files, so Early warning tells last year's records from this year's.
        Assert.Empty(without.Calendars);
        Assert.Equal([new CalendarYear("2024-2025", prior[0], prior[^1]), new CalendarYear("2025-2026", first, options.LastDay!.Value)], with.Calendars);
        var folder = Path.Combine(Path.GetTempPath(), $"sim-{Guid.NewGuid():N}");
        try
        {
            DistrictFiles.Write(with, folder);
            Assert.Equal(["schoolYear,schoolId,type,startDate,endDate,description", $"2024-2025,,school-year,{prior[0]:yyyy-MM-dd},{prior[^1]:yyyy-MM-dd},"],
                File.ReadLines(Path.Combine(folder, "calendars.csv")).Take(2));
            Assert.Equal("calendars.csv", DistrictFiles.SignalFiles[0].File);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }

        // The same traits: last year's absence follows the propensity, its incidents the behaviour trait, its marks the standing.
        var truth = with.Truth.Outcomes.ToDictionary(o => o.StudentId);
        var incidents = with.Incidents.Where(i => i.Date < first).GroupBy(i => i.StudentId).ToDictionary(g => g.Key, g => g.Count());
        var byBehaviour = with.Students.OrderBy(s => truth[s.StudentId].Traits!.Behaviour).ToList();
        double Incidents(StudentInfo s) => incidents.GetValueOrDefault(s.StudentId);
        Assert.True(byBehaviour.TakeLast(225).Average(Incidents) > 2 * byBehaviour.Take(225).Average(Incidents));
        var mean = marks.GroupBy(g => g.StudentId).ToDictionary(g => g.Key, g => g.Average(m => m.MarkPercent));
        var byStanding = with.Students.OrderBy(s => truth[s.StudentId].Traits!.Academic).ToList();
        Assert.True(byStanding.TakeLast(225).Average(s => mean[s.StudentId]) > byStanding.Take(225).Average(s => mean[s.StudentId]) + 10);
        var absent = lastYear.GroupBy(a => a.StudentId).ToDictionary(g => g.Key, g => g.Count(a => a.Status is "absent" or "excused-absent") / 180.0);
        Assert.All(with.Students.Where(s => s.AbsencePropensity > 0.2), s => Assert.True(absent[s.StudentId] > 0.1, $"{s.StudentId}: {absent[s.StudentId]:P0}"));
    }

    [Fact]
    public void Lms_sessions_are_written_as_xapi_statements_with_an_account_actor_an_adl_verb_and_a_duration()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"sim-{Guid.NewGuid():N}");
        try
        {
            var district = DistrictGenerator.Generate(Small);
            DistrictFiles.Write(district, folder);
            var statements = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(folder, DistrictFiles.LmsFile)))!.AsArray();
            Assert.Equal(district.Lms.Count, statements.Count);
            var first = statements[0]!;
            Assert.True(Guid.TryParse(first["id"]!.GetValue<string>(), out _));
            Assert.Equal(district.Lms[0].StudentId, first["actor"]!["account"]!["name"]!.GetValue<string>());
            Assert.Matches("^http://adlnet.gov/expapi/verbs/(completed|experienced)$", first["verb"]!["id"]!.GetValue<string>());
            Assert.Matches(@"^PT(\d+H)?(\d+M)?(\d+(\.\d+)?S)?$", first["result"]!["duration"]!.GetValue<string>());
            Assert.Equal(district.Lms[0].At, DateTimeOffset.Parse(first["timestamp"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Written_files_have_the_columns_ingestion_reads()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"sim-{Guid.NewGuid():N}");
        try
        {
            DistrictFiles.Write(DistrictGenerator.Generate(Small), folder);
            Assert.Equal("studentId,date,status", File.ReadLines(Path.Combine(folder, "attendance.csv")).First());
            Assert.Equal(3601, File.ReadLines(Path.Combine(folder, "attendance.csv")).Count());
            Assert.StartsWith("sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role", File.ReadLines(Path.Combine(folder, "users.csv")).First());
            Assert.Contains("\"dropoutModel\"", File.ReadAllText(Path.Combine(folder, "truth.json")));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
