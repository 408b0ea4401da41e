using System.Globalization;
using Beacon.Contracts.Mastery;
using Beacon.Mastery.Domain;
using Beacon.Mastery.Storage;
using Beacon.ServiceDefaults;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using RefitOutcomeMessage = Beacon.Contracts.Mastery.RefitOutcome;

namespace Beacon.Mastery.Grpc;

/// <summary>Read side for teachers, counselors and Early warning; also the refit command.</summary>
public sealed class MasteryGrpcService(MasteryDbContext db, IOptions<MasteryOptions> options, TimeProvider clock, SkillRefitter refitter)
    : Contracts.Mastery.Mastery.MasteryBase
{
    private const double TrendThreshold = 0.05;

    [Authorize(Policy = Policies.Staff)]
    public override async Task<StudentMastery> GetStudentMastery(GetStudentMasteryRequest request, ServerCallContext context)
    {
        Require(request.StudentId, "student_id");
        await EnsureVisibleAsync(request.StudentId, context);
        var response = new StudentMastery { StudentId = request.StudentId };
        response.Skills.AddRange(await StudentSkillsAsync(request.StudentId, context.CancellationToken));
        return response;
    }

    [Authorize(Policy = Policies.Staff)]
    public override async Task<StudentMasterySummary> GetStudentSummary(GetStudentSummaryRequest request, ServerCallContext context)
    {
        Require(request.StudentId, "student_id");
        await EnsureVisibleAsync(request.StudentId, context);
        var ct = context.CancellationToken;
        var skills = await StudentSkillsAsync(request.StudentId, ct);
        var answers = await db.AppliedResponses.AsNoTracking().Where(r => r.StudentId == request.StudentId && !r.Voided).ToListAsync(ct);
        var weekAgo = clock.GetUtcNow().AddDays(-7);
        return new StudentMasterySummary
        {
            StudentId = request.StudentId,
            SkillsAttempted = skills.Count,
            SkillsMastered = skills.Count(s => s.Mastered),
            SkillsStruggling = skills.Count(s => s.Struggling),
            MeanMastery = skills.Count > 0 ? skills.Average(s => s.ProbabilityMastered) : 0,
            LowestMastery = skills.Count > 0 ? skills.Min(s => s.ProbabilityMastered) : 0,
            MeanChangeSinceLastWeek = skills.Count > 0 ? skills.Average(s => s.ChangeSinceLastWeek) : 0,
            Answers = answers.Count,
            CorrectRate = answers.Count > 0 ? answers.Average(a => a.Correct ? 1.0 : 0.0) : 0,
            AnswersLastWeek = answers.Count(a => a.AnsweredAt > weekAgo),
        };
    }

    [Authorize(Policy = Policies.Staff)]
    public override async Task<NextActivity> RecommendNext(RecommendNextRequest request, ServerCallContext context)
    {
        Require(request.StudentId, "student_id");
        await EnsureVisibleAsync(request.StudentId, context);
        Require(request.SkillId, "skill_id");
        var ct = context.CancellationToken;
        var skills = await db.Skills.AsNoTracking().Include(s => s.Prerequisites).ToDictionaryAsync(s => s.SkillId, ct);
        if (!skills.ContainsKey(request.SkillId))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"Unknown skill '{request.SkillId}'."));
        }
        var mastery = await db.Mastery.AsNoTracking().Where(m => m.StudentId == request.StudentId).ToDictionaryAsync(m => m.SkillId, ct);
        var graph = new SkillGraph(skills.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)kv.Value.Prerequisites.Select(p => p.PrerequisiteId).ToList()));
        // A skill the student has not practised yet counts at the skill's prior.
        var recommendation = graph.Recommend(request.SkillId,
            id => mastery.TryGetValue(id, out var m) ? m.ProbabilityMastered : skills.TryGetValue(id, out var s) ? s.PriorKnowledge : 0,
            options.Value.MasteredAt);
        var next = new NextActivity
        {
            StudentId = request.StudentId,
            SkillId = request.SkillId,
            TargetSkillId = recommendation.TargetSkillId,
            Reason = recommendation.Reason,
            Struggling = mastery.TryGetValue(request.SkillId, out var own) && own.Struggling,
        };
        next.UnmasteredPrerequisites.AddRange(recommendation.UnmasteredPrerequisites);
        return next;
    }

    [Authorize(Policy = Policies.Staff)]
    public override async Task<SchoolOverview> GetSchoolOverview(GetSchoolOverviewRequest request, ServerCallContext context)
    {
        Require(request.SchoolId, "school_id");
        if (!context.GetHttpContext().User.CanSeeSchool(request.SchoolId))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"No school '{request.SchoolId}' among the caller's schools."));
        }
        var ct = context.CancellationToken;
        var students = await db.Students.AsNoTracking().Where(s => s.SchoolId == request.SchoolId).ToDictionaryAsync(s => s.StudentId, ct);
        var ids = students.Keys.ToList();
        var names = await db.Skills.AsNoTracking().ToDictionaryAsync(s => s.SkillId, s => s.Name ?? "", ct);
        var overview = new SchoolOverview { SchoolId = request.SchoolId, Students = students.Count };

        var struggling = await db.Mastery.AsNoTracking().Where(m => ids.Contains(m.StudentId) && m.Struggling).ToListAsync(ct);
        overview.Struggling.AddRange(struggling.GroupBy(m => m.SkillId)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select(g =>
            {
                var skill = new StrugglingSkill { SkillId = g.Key, SkillName = names.GetValueOrDefault(g.Key, ""), StudentCount = g.Count() };
                skill.Students.AddRange(g.OrderBy(m => m.ProbabilityMastered).Select(m => new StrugglingStudent
                {
                    StudentId = m.StudentId,
                    GivenName = students[m.StudentId].GivenName,
                    FamilyName = students[m.StudentId].FamilyName,
                    ProbabilityMastered = m.ProbabilityMastered,
                    Attempts = m.Attempts,
                }));
                return skill;
            }));

        var steps = await db.Steps.AsNoTracking().Where(s => ids.Contains(s.StudentId)).Select(s => new { s.SkillId, s.Correct }).ToListAsync(ct);
        overview.TopFailureSkills.AddRange(steps.GroupBy(s => s.SkillId)
            .Select(g => new SkillFailureRate
            {
                SkillId = g.Key,
                SkillName = names.GetValueOrDefault(g.Key, ""),
                Answers = g.Count(),
                Wrong = g.Count(s => !s.Correct),
                FailureRate = g.Average(s => s.Correct ? 0.0 : 1.0),
            })
            .OrderByDescending(f => f.FailureRate).ThenByDescending(f => f.Answers).ThenBy(f => f.SkillId, StringComparer.Ordinal)
            .Take(3));

        var wrongAnswers = await db.AppliedResponses.AsNoTracking().Where(r => ids.Contains(r.StudentId) && !r.Correct && !r.Voided).ToListAsync(ct);
        overview.RepeatedFailureItems.AddRange(wrongAnswers
            .GroupBy(r => (r.StudentId, r.ItemId)).Where(g => g.Count() >= 2)
            .GroupBy(g => g.Key.ItemId)
            .Select(item =>
            {
                var entry = new RepeatedFailureItem { ItemId = item.Key, Students = item.Count(), Wrong = item.Sum(g => g.Count()) };
                entry.SkillIds.AddRange(item.SelectMany(g => g).SelectMany(r => r.SkillIds.Split(',', StringSplitOptions.RemoveEmptyEntries)).Distinct().Order(StringComparer.Ordinal));
                return entry;
            })
            .OrderByDescending(i => i.Students).ThenByDescending(i => i.Wrong).ThenBy(i => i.ItemId, StringComparer.Ordinal)
            .Take(10));
        return overview;
    }

    public override async Task<ListSkillsResponse> ListSkills(ListSkillsRequest request, ServerCallContext context)
    {
        var skills = await db.Skills.AsNoTracking().Include(s => s.Prerequisites).ToListAsync(context.CancellationToken);
        var response = new ListSkillsResponse();
        response.Skills.AddRange(skills.OrderBy(s => s.SkillId, StringComparer.Ordinal).Select(ToInfo));
        return response;
    }

    [Authorize(Policy = Policies.Ops)]
    public override async Task<RefitSkillsResponse> RefitSkills(RefitSkillsRequest request, ServerCallContext context)
    {
        var outcomes = await refitter.RefitAsync(context.CancellationToken);
        var skills = await db.Skills.AsNoTracking().Include(s => s.Prerequisites).ToDictionaryAsync(s => s.SkillId, context.CancellationToken);
        var response = new RefitSkillsResponse();
        response.Skills.AddRange(outcomes.Select(o => new RefitOutcomeMessage
        {
            SkillId = o.SkillId,
            Responses = o.Responses,
            Students = o.Students,
            Fitted = o.Fitted,
            Skill = ToInfo(skills[o.SkillId]),
            Reason = o.Reason ?? "",
        }));
        return response;
    }

    [Authorize(Policy = Policies.Services)]
    public override async Task<SkillHistory> GetSkillHistory(GetSkillHistoryRequest request, ServerCallContext context)
    {
        Require(request.SkillId, "skill_id");
        Require(request.SchoolId, "school_id");
        if (request.At.Count is 0 or > 20)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "at: give 1 to 20 instants."));
        }
        var instants = request.At.Select(a => DateTimeOffset.TryParse(a, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
            ? t : throw new RpcException(new Status(StatusCode.InvalidArgument, $"at: '{a}' is not an ISO-8601 instant."))).ToList();
        var ct = context.CancellationToken;
        var skill = await db.Skills.AsNoTracking().FirstOrDefaultAsync(s => s.SkillId == request.SkillId, ct);
        var prior = skill?.PriorKnowledge ?? options.Value.DefaultParameters.PriorKnowledge;
        var ids = await db.Students.AsNoTracking().Where(s => s.SchoolId == request.SchoolId).Select(s => s.StudentId).ToListAsync(ct);
        var steps = (await db.Steps.AsNoTracking().Where(s => s.SkillId == request.SkillId && ids.Contains(s.StudentId))
                .Select(s => new { s.Id, s.StudentId, s.AnsweredAt, s.ProbabilityAfter }).ToListAsync(ct))
            .ToLookup(s => s.StudentId);
        var history = new SkillHistory { SkillId = request.SkillId, KnownSkill = skill is not null, Prior = prior };
        foreach (var id in ids.Order(StringComparer.Ordinal))
        {
            var mine = steps[id].OrderBy(s => s.AnsweredAt).ThenBy(s => s.Id).ToList();
            var student = new StudentSkillHistory { StudentId = id };
            foreach (var at in instants)
            {
                var before = mine.Where(s => s.AnsweredAt < at).ToList();
                student.Probability.Add(before.Count > 0 ? before[^1].ProbabilityAfter : prior);
                student.Attempts.Add(before.Count);
            }
            history.Students.Add(student);
        }
        return history;
    }

    /// <summary>A student outside the caller's schools looks exactly like one with no answers.</summary>
    private async Task EnsureVisibleAsync(string studentId, ServerCallContext context)
    {
        var schoolId = await db.Students.AsNoTracking().Where(s => s.StudentId == studentId).Select(s => s.SchoolId)
            .FirstOrDefaultAsync(context.CancellationToken);
        if (!context.GetHttpContext().User.CanSeeSchool(schoolId))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"No mastery recorded for student '{studentId}'."));
        }
    }

    private async Task<List<SkillMastery>> StudentSkillsAsync(string studentId, CancellationToken ct)
    {
        var rows = await db.Mastery.AsNoTracking().Where(m => m.StudentId == studentId).ToListAsync(ct);
        var skills = await db.Skills.AsNoTracking().ToDictionaryAsync(s => s.SkillId, ct);
        var steps = (await db.Steps.AsNoTracking().Where(s => s.StudentId == studentId).ToListAsync(ct))
            .OrderBy(s => s.AnsweredAt).ThenBy(s => s.Id).ToLookup(s => s.SkillId);
        var weekAgo = clock.GetUtcNow().AddDays(-7);
        var masteredAt = options.Value.MasteredAt;
        return rows.OrderBy(r => r.SkillId, StringComparer.Ordinal).Select(r =>
        {
            var prior = skills.TryGetValue(r.SkillId, out var skill) ? skill.PriorKnowledge : options.Value.DefaultParameters.PriorKnowledge;
            var history = steps[r.SkillId].ToList();
            var aWeekAgo = history.LastOrDefault(s => s.AnsweredAt <= weekAgo)?.ProbabilityAfter ?? prior;
            var threeAgo = history.Count > 3 ? history[^4].ProbabilityAfter : prior;
            var change = r.ProbabilityMastered - threeAgo;
            return new SkillMastery
            {
                SkillId = r.SkillId,
                SkillName = skill?.Name ?? "",
                ProbabilityMastered = r.ProbabilityMastered,
                Attempts = r.Attempts,
                CorrectAnswers = r.CorrectAnswers,
                Mastered = r.ProbabilityMastered >= masteredAt,
                Struggling = r.Struggling,
                Trend = history.Count < 2 ? "new" : change > TrendThreshold ? "rising" : change < -TrendThreshold ? "falling" : "steady",
                ProbabilityAWeekAgo = aWeekAgo,
                ChangeSinceLastWeek = r.ProbabilityMastered - aWeekAgo,
                UpdatedAt = r.UpdatedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
            };
        }).ToList();
    }

    private static SkillInfo ToInfo(Skill s)
    {
        var info = new SkillInfo
        {
            SkillId = s.SkillId,
            Name = s.Name ?? "",
            PriorKnowledge = s.PriorKnowledge,
            Learn = s.Learn,
            Guess = s.Guess,
            Slip = s.Slip,
            Forget = s.Forget,
            FittedFromResponses = s.FittedFromResponses,
            FittedAt = s.FittedAt?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture) ?? "",
        };
        info.Prerequisites.AddRange(s.Prerequisites.Select(p => p.PrerequisiteId).Order(StringComparer.Ordinal));
        return info;
    }

    private static void Require(string value, string field)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"{field} is required."));
        }
    }
}
