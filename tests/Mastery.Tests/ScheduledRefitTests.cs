using Beacon.Contracts.Events;
using Beacon.Mastery.Domain;
using Beacon.Mastery.Storage;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.Mastery.Tests;

/// <summary>With Mastery:RefitEvery set, skills are refitted in the background from the answers received over the real broker.</summary>
public sealed class ScheduledRefitTests : IAsyncLifetime
{
    private readonly ServiceFactory<Program> _service = new()
    {
        Settings = { ["Mastery:RefitEvery"] = "00:00:01", ["Mastery:MinimumResponsesToFit"] = "60" },
    };

    public Task InitializeAsync() => _service.WaitUntilReadyAsync();

    public async Task DisposeAsync() => await _service.DisposeAsync();

    [Fact]
    public async Task A_skill_with_enough_answers_gets_fitted_parameters()
    {
        var bus = _service.Services.GetRequiredService<IBus>();
        var data = BktSimulator.Generate(new BktParameters(0.3, 0.2, 0.2, 0.1), 15, 6, new Random(3));
        var start = DateTimeOffset.UtcNow.AddHours(-1);
        for (var s = 0; s < data.Count; s++)
        {
            for (var t = 0; t < data[s].Length; t++)
            {
                await bus.Publish(new ItemResponseRecorded($"stu-sched-{s}", $"q{t}", ["sched-skill"], data[s][t], 1, 0, 10, start.AddMinutes(t)));
            }
        }

        var skill = await Eventually.WaitAsync(
            () => _service.WithDbAsync<MasteryDbContext, Skill?>(db => db.Skills.AsNoTracking().SingleOrDefaultAsync(k => k.SkillId == "sched-skill")),
            k => k?.FittedFromResponses == 90, TimeSpan.FromSeconds(30));
        Assert.Equal(90, skill!.FittedFromResponses);
        Assert.NotNull(skill.FittedAt);
        Assert.NotEqual(new BktParameters(), SkillParameters.Of(skill));
    }
}
