using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using Beacon.Interventions.Domain;
using Beacon.Interventions.Storage;
using Beacon.ServiceDefaults;
using Grpc.Core;
using Microsoft.EntityFrameworkCore;
using MasteryClient = Beacon.Contracts.Mastery.Mastery.MasteryClient;

namespace Beacon.Interventions.Apis;

public sealed record ChangeTestArmView(string Label, string Kind, string Value, int Students);

/// <summary>Students per arm in one stratum (school × risk band): the balance the assignment promises, visible.</summary>
public sealed record ChangeTestStratumView(string SchoolId, string RiskBand, IReadOnlyList<int> StudentsPerArm);

public sealed record ChangeTestView(Guid TestId, string Name, string Outcome, string? SkillId, int WindowDays, string StartDate, string MeasurableFrom,
    int Seed, string Method, string CreatedBy, DateTimeOffset CreatedAt, IReadOnlyList<ChangeTestArmView> Arms, IReadOnlyList<ChangeTestStratumView> Strata)
{
    public static ChangeTestView From(ChangeTest t)
    {
        var arms = t.Arms.OrderBy(a => a.Index).ToList();
        return new(t.TestId, t.Name, t.Outcome, t.SkillId, t.WindowDays, Day(t.StartDate), Day(t.MeasurableFrom), t.Seed, StratifiedAssignment.Method,
            t.CreatedBy, t.CreatedAt, [.. arms.Select(a => new ChangeTestArmView(a.Label, a.Kind, a.Value, t.Assignments.Count(s => s.ArmIndex == a.Index)))],
            [.. t.Assignments.GroupBy(a => (a.SchoolId, a.RiskBand)).OrderBy(g => g.Key.SchoolId, StringComparer.Ordinal).ThenBy(g => g.Key.RiskBand, StringComparer.Ordinal)
                .Select(g => new ChangeTestStratumView(g.Key.SchoolId, g.Key.RiskBand, [.. arms.Select(a => g.Count(s => s.ArmIndex == a.Index))]))]);
    }

    internal static string Day(DateOnly d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}

/// <summary>A case's part in a test of change, with the plain-language explanation staff see.</summary>
public sealed record CaseTestView(Guid TestId, string Name, string Arm, string ArmKind, string ArmValue, string Outcome, string StartDate, int WindowDays,
    DateTimeOffset AssignedAt, string Explanation);

/// <summary>
/// Small tests of change (issue #27): a coordinator creates one (arms, eligible cases, outcome and window fixed up front,
/// seed recorded) and the cases are assigned at random, stratified by school and risk band; each assignment is a line of
/// the case's history (the audit trail every case change has) explaining it to staff, who stay free to act. The test and
/// its report are aggregates (arm sizes, strata, effects); which student is in which arm is read on the case
/// (<c>GET …/cases/{caseId}/tests-of-change</c>), where the gateway's read audit sees it. Bad fields are 400s naming
/// them; a test the caller may not see 404; Mastery not answering 503.
/// </summary>
public static class ChangeTestsApi
{
    public const string AssignedKind = "test-assigned";

    public static IEndpointRouteBuilder MapChangeTestsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/interventions/v1").WithTags("Tests of change");
        api.MapPost("/tests-of-change", CreateAsync).RequireAuthorization(Policies.Coordinators).WithName("CreateChangeTest")
            .WithSummary("Create a test of change: arms assigned at random among eligible cases, stratified by school and risk band")
            .Accepts<ChangeTestRequest>("application/json").Produces<ChangeTestView>(StatusCodes.Status201Created)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        var readers = new[] { Roles.Coordinator, Roles.Ops, Roles.Administrator };
        api.MapGet("/tests-of-change", ListAsync).RequireAuthorization(p => p.RequireRole(readers)).WithName("ListChangeTests")
            .WithSummary("Tests of change of the caller's schools, newest first").Produces<List<ChangeTestView>>();
        api.MapGet("/tests-of-change/{testId:guid}", GetAsync).RequireAuthorization(p => p.RequireRole(readers)).WithName("GetChangeTest")
            .WithSummary("One test of change: arms, sizes, strata, seed").Produces<ChangeTestView>().ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/tests-of-change/{testId:guid}/report", ReportAsync).RequireAuthorization(p => p.RequireRole(readers)).WithName("ChangeTestReport")
            .WithSummary("Each arm's outcome change with a 95 % interval, each arm against the first with the minimum detectable difference")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapGet("/cases/{caseId}/tests-of-change", CaseTestsAsync).RequireAuthorization(Policies.Staff).WithName("CaseChangeTests")
            .WithSummary("The tests of change a case takes part in, with the arm and why").Produces<List<CaseTestView>>().ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<IResult> CreateAsync(HttpRequest request, InterventionsDbContext db, MasteryClient mastery, TimeProvider clock, CancellationToken ct)
    {
        var (body, problem) = await JsonBody.ReadAsync(request, new ChangeTestValidator(), ct);
        if (body is null)
        {
            return problem!;
        }
        var user = request.HttpContext.User;
        var (createdBy, notYou) = ActingUser.Resolve(user, body.CreatedBy, "createdBy");
        if (createdBy is null)
        {
            return notYou!;
        }
        var now = clock.GetUtcNow();
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var start = body.StartDate is null ? today : DateOnly.ParseExact(body.StartDate, "yyyy-MM-dd", CultureInfo.InvariantCulture);
        var errors = new Dictionary<string, string[]>();
        if (start < today)
        {
            // Fixed before any of the outcome is seen: a start in the past would let a test be chosen after its result.
            errors["startDate"] = [$"must be today ({ChangeTestView.Day(today)}) or later: the outcome window is fixed before any of it is seen."];
        }
        var cases = await EligibleCasesAsync(body.Eligible!, user, db, errors, ct);
        if (body.Outcome == ChangeTestOutcomes.Mastery && await GroupInterventionsApi.CheckSkillAsync(mastery, body.SkillId, errors, ct) is { } unavailable)
        {
            return unavailable;
        }
        if (errors.Count > 0)
        {
            return Results.ValidationProblem(errors, title: "Invalid request; nothing was created");
        }

        var students = cases.Select(c => c.StudentId).Distinct().ToList();
        var bands = (await db.RiskBands.AsNoTracking().Where(b => students.Contains(b.StudentId)).ToListAsync(ct))
            .GroupBy(b => b.StudentId).ToDictionary(g => g.Key, g => StudentRiskBand.Worst(g.Select(b => b.Band)));
        var test = new ChangeTest
        {
            TestId = Guid.NewGuid(),
            Name = body.Name!.Trim(),
            Outcome = body.Outcome!,
            SkillId = body.SkillId,
            WindowDays = body.WindowDays!.Value,
            StartDate = start,
            Seed = body.Seed ?? RandomNumberGenerator.GetInt32(int.MaxValue),
            SchoolIds = string.Join(',', cases.Select(c => c.SchoolId).Distinct().Order(StringComparer.Ordinal)),
            CreatedBy = createdBy,
            CreatedAt = now,
        };
        test.Arms.AddRange(body.Arms!.Select((a, i) => new ChangeTestArm
        {
            TestId = test.TestId,
            Index = i,
            Label = ((char)('A' + i)).ToString(),
            Kind = a!.InterventionType is not null ? ChangeTestArmKinds.InterventionType : ChangeTestArmKinds.Message,
            Value = a.InterventionType ?? a.Message!.Trim(),
        }));
        // One case per student (a student has at most one active case); the student is the unit drawn.
        var caseOf = cases.GroupBy(c => c.StudentId).ToDictionary(g => g.Key, g => g.First());
        var eligible = caseOf.Values.Select(c => new EligibleStudent(c.StudentId, c.SchoolId, bands.GetValueOrDefault(c.StudentId) ?? StudentRiskBand.Order[0], c.CaseId));
        foreach (var (student, arm) in StratifiedAssignment.Assign(eligible, test.Arms.Count, test.Seed))
        {
            test.Assignments.Add(new ChangeTestAssignment
            {
                TestId = test.TestId,
                StudentId = student.StudentId,
                SchoolId = student.SchoolId,
                RiskBand = student.RiskBand,
                CaseId = student.CaseId,
                ArmIndex = arm,
                AssignedAt = now,
            });
            // The audit trail of a case is its history: who assigned it to which arm, when, and what that means for staff.
            db.Activity.Add(new CaseActivity { CaseId = student.CaseId!.Value, At = now, Kind = AssignedKind, By = createdBy, Text = Explanation(test, test.Arms[arm]) });
        }
        db.ChangeTests.Add(test);
        await db.SaveChangesAsync(ct);
        return Results.Created($"/api/interventions/v1/tests-of-change/{test.TestId}", ChangeTestView.From(test));
    }

    /// <summary>The active cases of the named schools (each one the caller's), or the named cases (each visible and active); every problem named.</summary>
    private static async Task<List<InterventionCase>> EligibleCasesAsync(ChangeTestEligibleRequest eligible, ClaimsPrincipal user, InterventionsDbContext db,
        Dictionary<string, string[]> errors, CancellationToken ct)
    {
        if (eligible.SchoolIds is { Count: > 0 } schools)
        {
            var notMine = 0;
            for (var i = 0; i < schools.Count; i++)
            {
                if (!user.CanSeeSchool(schools[i]))
                {
                    errors[$"eligible.schoolIds[{i}]"] = [$"'{schools[i]}' is not one of your schools."];
                    notMine++;
                }
            }
            var named = schools.Select(s => s!).ToList();
            var active = await db.Cases.AsNoTracking().WhereSchoolVisibleTo(user, c => c.SchoolId)
                .Where(c => named.Contains(c.SchoolId) && CaseStatuses.Active.Contains(c.Status)).ToListAsync(ct);
            if (active.Count == 0 && notMine == 0)
            {
                errors["eligible"] = ["the chosen schools have no active case: nobody to assign."];
            }
            return active;
        }
        var ids = eligible.CaseIds!.Select(id => Guid.Parse(id!)).ToList();
        var found = new Dictionary<Guid, InterventionCase>();
        foreach (var chunk in ids.Chunk(500))
        {
            foreach (var c in await db.Cases.AsNoTracking().WhereSchoolVisibleTo(user, c => c.SchoolId).Where(c => chunk.Contains(c.CaseId)).ToListAsync(ct))
            {
                found[c.CaseId] = c;
            }
        }
        for (var i = 0; i < ids.Count; i++)
        {
            if (!found.TryGetValue(ids[i], out var c))
            {
                errors[$"eligible.caseIds[{i}]"] = [$"case '{ids[i]}' does not exist."];
            }
            else if (!CaseStatuses.Active.Contains(c.Status))
            {
                errors[$"eligible.caseIds[{i}]"] = [$"case '{ids[i]}' is {c.Status}; only active cases take part."];
            }
        }
        return [.. found.Values.Where(c => CaseStatuses.Active.Contains(c.Status))];
    }

    internal static string Explanation(ChangeTest test, ChangeTestArm arm) =>
        $"Assigned at random to arm {arm.Label} ({arm.Describe()}) of the test of change \"{test.Name}\" so the district can learn which works; "
        + $"you may still act as you judge best. The outcome ({(test.Outcome == ChangeTestOutcomes.Mastery ? $"mastery of {test.SkillId}" : "attendance rate")}) "
        + $"is compared over the {test.WindowDays} day(s) before and from {ChangeTestView.Day(test.StartDate)}.";

    private static async Task<List<ChangeTest>> LoadAsync(InterventionsDbContext db, Guid? testId, CancellationToken ct)
    {
        var query = db.ChangeTests.AsNoTracking().Include(t => t.Arms).Include(t => t.Assignments).AsSplitQuery();
        return await (testId is { } id ? query.Where(t => t.TestId == id) : query).ToListAsync(ct);
    }

    /// <summary>Ops and administrators see every test; a coordinator a test drawn among their schools' students (all of them).</summary>
    private static bool CanSee(ClaimsPrincipal user, ChangeTest t) => user.IsInRole(Roles.Ops) || t.Schools.All(user.CanSeeSchool);

    private static async Task<IResult> ListAsync(ClaimsPrincipal user, InterventionsDbContext db, CancellationToken ct) =>
        Results.Ok((await LoadAsync(db, null, ct)).Where(t => CanSee(user, t)).OrderByDescending(t => t.CreatedAt).Select(ChangeTestView.From).ToList());

    private static async Task<IResult> GetAsync(Guid testId, ClaimsPrincipal user, InterventionsDbContext db, CancellationToken ct) =>
        (await LoadAsync(db, testId, ct)).SingleOrDefault() is { } t && CanSee(user, t) ? Results.Ok(ChangeTestView.From(t)) : UnknownTest(testId);

    private static async Task<IResult> ReportAsync(Guid testId, ClaimsPrincipal user, InterventionsDbContext db, ChangeTestReport report, TimeProvider clock, CancellationToken ct)
    {
        if ((await LoadAsync(db, testId, ct)).SingleOrDefault() is not { } test || !CanSee(user, test))
        {
            return UnknownTest(testId);
        }
        var view = ChangeTestView.From(test);
        var measure = test.Outcome == ChangeTestOutcomes.Mastery
            ? $"probability of mastery of {test.SkillId} (Mastery), at {view.MeasurableFrom} minus at {view.StartDate}"
            : $"attendance rate, the {test.WindowDays} day(s) from {view.StartDate} minus the {test.WindowDays} day(s) before";
        if (DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime) < test.MeasurableFrom)
        {
            return Results.Ok(new
            {
                test = view,
                status = "running",
                measure,
                sentence = $"The window ends on {view.MeasurableFrom}; the arms are compared from then, not before (looking early and stopping at a good moment would overstate the difference).",
            });
        }
        ChangeTestResult result;
        try
        {
            result = await report.BuildAsync(test, ct);
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal)
        {
            return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Mastery did not answer",
                detail: "The mastery history behind the test's outcome could not be read. Try again in a moment.");
        }
        return Results.Ok(new
        {
            test = view,
            status = "measured",
            measure,
            method = "random assignment stratified by school and risk band; per arm the mean change over its measured students with a 95 % t-interval; "
                + "each arm against arm A: difference in mean change, 95 % Welch interval, and the minimum difference a two-sided 5 % test would find with 80 % power at these arm sizes and the observed spread. Intervals are not adjusted for the number of arms.",
            arms = result.Arms.Select(a => new
            {
                label = a.Label,
                arm = a.Describes,
                students = a.Change.Cases,
                excluded = a.Change.Excluded,
                meanChange = Round(a.Change.MeanChange),
                ci95 = a.Change.CiLow is null ? null : new[] { Round(a.Change.CiLow.Value), Round(a.Change.CiHigh!.Value) },
            }),
            differences = result.Differences.Select(d => new
            {
                arm = d.Label,
                against = d.ReferenceLabel,
                difference = Round(d.Difference),
                ci95 = d.CiLow is null ? null : new[] { Round(d.CiLow.Value), Round(d.CiHigh!.Value) },
                minimumDetectable = d.MinimumDetectable is { } m ? Round(m) : null,
                detectable = d.Detectable,
                sentence = d.Sentence,
            }),
        });
    }

    private static async Task<IResult> CaseTestsAsync(string caseId, ClaimsPrincipal user, InterventionsDbContext db, CancellationToken ct)
    {
        var (found, problem) = await CasesApi.VisibleCaseAsync(caseId, user, db, ct);
        if (found is null)
        {
            return problem!;
        }
        var id = found.CaseId;
        var testIds = await db.ChangeTestAssignments.AsNoTracking().Where(a => a.CaseId == id).Select(a => a.TestId).ToListAsync(ct);
        var tests = await db.ChangeTests.AsNoTracking().Include(t => t.Arms).Where(t => testIds.Contains(t.TestId)).ToListAsync(ct);
        var mine = await db.ChangeTestAssignments.AsNoTracking().Where(a => a.CaseId == id).ToDictionaryAsync(a => a.TestId, ct);
        return Results.Ok(tests.OrderByDescending(t => t.CreatedAt).Select(t =>
        {
            var arm = t.Arms.Single(a => a.Index == mine[t.TestId].ArmIndex);
            return new CaseTestView(t.TestId, t.Name, arm.Label, arm.Kind, arm.Value, t.Outcome, ChangeTestView.Day(t.StartDate), t.WindowDays,
                mine[t.TestId].AssignedAt, Explanation(t, arm));
        }).ToList());
    }

    private static IResult UnknownTest(Guid testId) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown test of change", detail: $"No test of change '{testId}' that you may see.");

    private static double? Round(double v) => double.IsNaN(v) ? null : Math.Round(v, 4);
}
