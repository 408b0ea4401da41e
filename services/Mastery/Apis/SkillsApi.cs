using Beacon.Contracts.Mastery;
using Beacon.Mastery.Domain;
using Beacon.Mastery.Grpc;
using Beacon.Mastery.Storage;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.Mastery.Apis;

public sealed record SkillGraphRequest(IReadOnlyList<SkillDefinition?>? Skills);

public sealed record SkillGraphAccepted(int Created, int Updated, int Skills);

/// <summary>
/// Every REST route of the skills: GET (the gRPC Mastery service's ListSkills), PUT and the refit.
/// PUT /api/mastery/v1/skills: adds skills and sets their prerequisites. A graph is taken whole or not at
/// all (a cycle involves several rows): any problem is a 400 naming skills[i] (and prerequisites[j]) with
/// the reason, and nothing is stored. A skill sent again keeps its fitted parameters.
/// </summary>
public static class SkillsApi
{
    public static IEndpointRouteBuilder MapSkillsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/mastery/v1").WithTags("Skills");
        // Any signed-in caller may read the skills (the fallback policy): they hold no student data.
        Func<HttpContext, Task<IResult>> list = http =>
            GrpcRest.AnswerAsync<MasteryGrpcService, ListSkillsResponse>(http, (mastery, call) => mastery.ListSkills(new ListSkillsRequest(), call));
        api.MapGet("/skills", list).WithName("ListSkills").WithSummary("Skills with their BKT parameters and prerequisites").Produces<ListSkillsResponse>();
        api.MapPut("/skills", PutSkillsAsync).RequireAuthorization(Policies.Administrators).WithName("PutSkills").WithSummary("Replace the skill graph");
        api.MapPost("/skills/refit", async (HttpRequest request, CancellationToken ct) =>
            {
                var (refit, problem) = await GrpcRest.ReadAsync<RefitSkillsRequest>(request, ct);
                return refit is null ? problem! : await GrpcRest.AnswerAsync<MasteryGrpcService, RefitSkillsResponse>(request.HttpContext, (mastery, call) => mastery.RefitSkills(refit, call));
            })
            .RequireAuthorization(Policies.Ops).WithName("RefitSkills").WithSummary("Refit every skill's parameters by EM from the answers recorded so far")
            .Accepts<RefitSkillsRequest>("application/json").Produces<RefitSkillsResponse>();
        return app;
    }

    private static async Task<IResult> PutSkillsAsync(HttpRequest request, MasteryDbContext db, IOptions<MasteryOptions> options, CancellationToken ct)
    {
        var (body, problem) = await JsonBody.ReadAsync<SkillGraphRequest>(request, ct);
        if (problem is not null)
        {
            return problem;
        }
        if (body?.Skills is null)
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["skills"] = ["A list of skills is required."] }, title: "No skills; nothing was stored");
        }

        var stored = await db.Skills.Include(s => s.Prerequisites).ToDictionaryAsync(s => s.SkillId, ct);
        var existing = stored.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)kv.Value.Prerequisites.Select(p => p.PrerequisiteId).ToList());
        var (graph, errors) = SkillGraph.Validate(body.Skills, existing);
        if (graph is null)
        {
            return Results.ValidationProblem(errors,
                title: $"{errors.Count} problem(s) in the skill graph; nothing was stored",
                detail: "A skill graph is stored whole or not at all. Fix the skills named in 'errors' (by index) and send it again.");
        }

        int created = 0, updated = 0;
        foreach (var definition in body.Skills)
        {
            var skillId = definition!.SkillId!;
            if (!stored.TryGetValue(skillId, out var skill))
            {
                skill = db.Skills.Add(SkillParameters.NewSkill(skillId, options.Value.DefaultParameters)).Entity;
                created++;
            }
            else
            {
                updated++;
            }
            skill.Name = definition.Name ?? skill.Name;
            skill.Prerequisites.Clear();
            skill.Prerequisites.AddRange(graph.Prerequisites[skillId].Select(p => new SkillPrerequisite { SkillId = skillId, PrerequisiteId = p }));
        }
        await db.SaveChangesAsync(ct);
        return Results.Ok(new SkillGraphAccepted(created, updated, body.Skills.Count));
    }
}
