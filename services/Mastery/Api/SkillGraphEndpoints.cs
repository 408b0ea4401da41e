using Beacon.Mastery.Domain;
using Beacon.Mastery.Storage;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.Mastery.Api;

public sealed record SkillGraphRequest(IReadOnlyList<SkillDefinition?>? Skills);

public sealed record SkillGraphAccepted(int Created, int Updated, int Skills);

/// <summary>
/// PUT /api/mastery/v1/skills: adds skills and sets their prerequisites. A graph is taken whole or not at
/// all (a cycle involves several rows): any problem is a 400 naming skills[i] (and prerequisites[j]) with
/// the reason, and nothing is stored. A skill sent again keeps its fitted parameters.
/// </summary>
public static class SkillGraphEndpoints
{
    public static IEndpointRouteBuilder MapSkillGraphEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPut("/api/mastery/v1/skills", PutSkillsAsync).RequireAuthorization(Policies.Administrators)
            .WithTags("Skills").WithName("PutSkills").WithSummary("Replace the skill graph");
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
