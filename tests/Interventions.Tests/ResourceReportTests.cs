using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Interventions.Domain;
using Beacon.Interventions.Storage;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Beacon.Interventions.Tests;

/// <summary>
/// Resources follow impact (#27 item 4): plans carry expected staff hours, notes and contacts log minutes, and the district
/// ranks intervention types by attendance effect per staff hour, by risk band and by school; a case suggests the types that
/// worked best for students in its student's band. Over <see cref="EffectSimulator"/>'s planted truth: outreach adds 0.10
/// to attendance, tutoring nothing.
/// </summary>
public sealed class ResourceReportTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly ServiceFactory<Program> _service = new();
    private readonly EffectSimulator _sim = new(seed: 2027);

    // Outreach plans expect 2 hours, tutoring 10; every fourth outreach case logged 3 hours instead (logged time wins).
    private const double OutreachHours = 2, TutoringHours = 10, LoggedMinutes = 180;

    public async Task InitializeAsync()
    {
        await _service.WaitUntilReadyAsync();
        await _service.WithDbAsync<InterventionsDbContext, int>(async db =>
        {
            db.Attendance.AddRange(_sim.AttendanceRows());
            foreach (var (t, i) in _sim.Treated.Select((t, i) => (t, i)))
            {
                var outreach = t.InterventionType == "attendance-outreach";
                var c = EffectSimulator.CompletedCase(t);
                c.Plan!.ExpectedHours = outreach ? OutreachHours : TutoringHours;
                c.Plan.RiskBandAtStart = i % 2 == 0 ? "high" : "elevated";
                if (outreach && i % 4 == 0)
                {
                    CaseWorkflow.Log(c, c.OpenedAt, ActivityKinds.Contact, "c1", "Call with parent/guardian.", (int)(LoggedMinutes / 2));
                    CaseWorkflow.Log(c, c.OpenedAt, ActivityKinds.Note, "c1", "Follow-up.", (int)(LoggedMinutes / 2));
                }
                db.Cases.Add(c);
            }
            return await db.SaveChangesAsync();
        });
    }

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private static JsonElement Row(JsonElement rows, string type, string? band = null, string? school = null) =>
        rows.EnumerateArray().Single(r => r.GetProperty("type").GetString() == type
            && (band is null || r.GetProperty("riskBand").GetString() == band) && (school is null || r.GetProperty("schoolId").GetString() == school));

    [Fact]
    public async Task Types_are_ranked_by_effect_per_staff_hour_with_the_evidence_behind_each_figure()
    {
        using var coordinator = _service.CreateClientAs(TestTokens.For("coord", [Beacon.ServiceDefaults.Roles.Coordinator], ["sim-school-0", "sim-school-1"]));
        var report = await coordinator.GetFromJsonAsync<JsonElement>("/api/interventions/v1/resource-report?windowWeeks=2");
        output.WriteLine(report.ToString());
        var byType = report.GetProperty("byType");
        Assert.Equal("attendance-outreach", byType[0].GetProperty("type").GetString());
        var outreach = Row(byType, "attendance-outreach");
        Assert.True(outreach.GetProperty("ranked").GetBoolean());

        // The hours: logged time where a case has any, else the plan's; the mean over the measured cases.
        var treated = _sim.Treated.Select((t, i) => (t, i)).Where(x => x.t.InterventionType == "attendance-outreach").ToList();
        var direct = EffectEstimator.MeasureCases(_sim.Treated, _sim.Days, _sim.FirstCaseOpened, new EffectSettings(WindowWeeks: 2))
            .Where(m => m.Measured && m.Case.InterventionType == "attendance-outreach").Select(m => m.Case.CaseId).ToHashSet();
        var hours = treated.Where(x => direct.Contains(x.t.CaseId)).Select(x => x.i % 4 == 0 ? LoggedMinutes / 60 : OutreachHours).ToList();
        Assert.Equal(Math.Round(hours.Average(), 4), outreach.GetProperty("meanStaffHours").GetDouble(), 4);
        Assert.Equal(hours.Count(h => h == LoggedMinutes / 60), outreach.GetProperty("casesWithLoggedTime").GetInt32());
        Assert.Equal(outreach.GetProperty("cases").GetInt32(), outreach.GetProperty("casesWithHours").GetInt32());

        // Per hour = the effect over the mean hours, interval too; the planted effect per hour lies inside it.
        var (difference, perHour) = (outreach.GetProperty("difference").GetDouble(), outreach.GetProperty("perStaffHour").GetDouble());
        Assert.Equal(difference / hours.Average(), perHour, 3);
        var ci = outreach.GetProperty("perStaffHourCi95");
        Assert.InRange(EffectSimulator.OutreachEffect / hours.Average(), ci[0].GetDouble(), ci[1].GetDouble());

        // Tutoring did nothing, at five times the hours: its interval covers 0, and it ranks below.
        var tutoring = Row(byType, "tutoring");
        Assert.InRange(0, tutoring.GetProperty("perStaffHourCi95")[0].GetDouble(), tutoring.GetProperty("perStaffHourCi95")[1].GetDouble());
        Assert.Equal(TutoringHours, tutoring.GetProperty("meanStaffHours").GetDouble());

        // By band (at the plan's start) and by school: each group's cases add up to the type's.
        var bands = report.GetProperty("byTypeAndRiskBand");
        Assert.Equal(outreach.GetProperty("cases").GetInt32(),
            Row(bands, "attendance-outreach", band: "high").GetProperty("cases").GetInt32() + Row(bands, "attendance-outreach", band: "elevated").GetProperty("cases").GetInt32());
        var schools = report.GetProperty("byTypeAndSchool");
        Assert.Equal(outreach.GetProperty("cases").GetInt32(),
            Row(schools, "attendance-outreach", school: "sim-school-0").GetProperty("cases").GetInt32() + Row(schools, "attendance-outreach", school: "sim-school-1").GetProperty("cases").GetInt32());

        using var bad = await coordinator.GetAsync("/api/interventions/v1/resource-report?windowWeeks=3");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        using var counselor = _service.CreateClientAs(TestTokens.Counselor("c1", "sim-school-0"));
        using var refused = await counselor.GetAsync("/api/interventions/v1/resource-report");
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }

    [Fact]
    public async Task A_case_suggests_what_worked_for_students_in_its_band_and_a_plan_records_hours_and_the_band()
    {
        var (highStudent, lowStudent) = ($"res-{Guid.NewGuid():N}"[..12], $"res-{Guid.NewGuid():N}"[..12]);
        var (highCase, lowCase) = (Guid.NewGuid(), Guid.NewGuid());
        await _service.WithDbAsync<InterventionsDbContext, int>(async db =>
        {
            db.RiskBands.Add(new StudentRiskBand { StudentId = highStudent, Kind = "chronic-absence", Band = "high", Score = 0.6, ScoredAt = DateTimeOffset.UtcNow });
            db.RiskBands.Add(new StudentRiskBand { StudentId = highStudent, Kind = "dropout", Band = "low", Score = 0.1, ScoredAt = DateTimeOffset.UtcNow });
            db.RiskBands.Add(new StudentRiskBand { StudentId = lowStudent, Kind = "chronic-absence", Band = "low", Score = 0.1, ScoredAt = DateTimeOffset.UtcNow });
            foreach (var (id, student) in new[] { (highCase, highStudent), (lowCase, lowStudent) })
            {
                db.Cases.Add(new InterventionCase { CaseId = id, StudentId = student, SchoolId = "sim-school-0", Reason = "r", OpenedAt = DateTimeOffset.UtcNow });
            }
            return await db.SaveChangesAsync();
        });
        using var counselor = _service.CreateClientAs(TestTokens.Counselor("c1", "sim-school-0"));
        var cache = _service.Services.GetRequiredService<ResourceReportCache>();
        var buildsBefore = cache.Builds;

        var high = await counselor.GetFromJsonAsync<JsonElement>($"/api/interventions/v1/cases/{highCase}/suggested-types");
        output.WriteLine(high.ToString());
        Assert.Equal("high", high.GetProperty("riskBand").GetString());   // the worst of its kinds
        Assert.Contains("high risk band", high.GetProperty("basis").GetString());
        var first = high.GetProperty("suggestions")[0];
        Assert.Equal("attendance-outreach", first.GetProperty("type").GetString());
        Assert.Contains("95 % interval", first.GetProperty("sentence").GetString());
        // No completed case was in the low band: the district's figures, and it says so.
        var low = await counselor.GetFromJsonAsync<JsonElement>($"/api/interventions/v1/cases/{lowCase}/suggested-types");
        Assert.StartsWith("all students", low.GetProperty("basis").GetString());
        // Both pages read the district's figures built once, and say as of when.
        Assert.Equal(buildsBefore + 1, cache.Builds);
        Assert.Equal(high.GetProperty("asOf").GetDateTimeOffset(), low.GetProperty("asOf").GetDateTimeOffset());
        using (var other = _service.CreateClientAs(TestTokens.Counselor("c2", "sim-school-1")))
        using (var hidden = await other.GetAsync($"/api/interventions/v1/cases/{highCase}/suggested-types"))
        {
            Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);
        }

        // The plan records its expected hours and the band the student was in when it was set; notes log minutes.
        using var plan = await counselor.PutAsJsonAsync($"/api/interventions/v1/cases/{highCase}/plan", new
        {
            type = "attendance-outreach",
            tier = 2,
            goal = "Back to 95 %",
            startDate = "2026-11-02",
            durationWeeks = 4,
            checkInFrequency = "weekly",
            expectedHours = 1.5,
        });
        Assert.True(plan.IsSuccessStatusCode, await plan.Content.ReadAsStringAsync());
        using var note = await counselor.PostAsJsonAsync($"/api/interventions/v1/cases/{highCase}/notes", new { text = "Called home.", contact = true, minutesSpent = 25 });
        Assert.True(note.IsSuccessStatusCode, await note.Content.ReadAsStringAsync());
        var stored = await _service.WithDbAsync<InterventionsDbContext, InterventionCase>(db => db.Cases.AsNoTracking().Include(c => c.Activity).SingleAsync(c => c.CaseId == highCase));
        Assert.Equal((1.5, "high"), (stored.Plan!.ExpectedHours, stored.Plan.RiskBandAtStart));
        Assert.Equal(25, stored.Activity.Single(a => a.Kind == ActivityKinds.Contact).MinutesSpent);

        // Bad amounts are 400s naming the field.
        foreach (var (path, body, field) in new (string, object, string)[]
        {
            ("plan", new { type = "tutoring", tier = 1, goal = "g", startDate = "2026-11-02", durationWeeks = 2, checkInFrequency = "weekly", expectedHours = 0.1 }, "expectedHours"),
            ("notes", new { text = "x", minutesSpent = 0 }, "minutesSpent"),
            ("contacts", new { with = "student", how = "call", minutesSpent = 601 }, "minutesSpent"),
        })
        {
            using var response = path == "plan"
                ? await counselor.PutAsJsonAsync($"/api/interventions/v1/cases/{highCase}/{path}", body)
                : await counselor.PostAsJsonAsync($"/api/interventions/v1/cases/{highCase}/{path}", body);
            var problem = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, problem);
            Assert.Contains($"\"{field}\"", problem);
        }
    }
}
