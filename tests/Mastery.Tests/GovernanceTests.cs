using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.Mastery.Storage;
using Beacon.ServiceDefaults;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.Mastery.Tests;

/// <summary>Erasure and retention in Mastery against the real broker.</summary>
public sealed class GovernanceTests : IAsyncLifetime
{
    private readonly ServiceFactory<Program> _service = new() { Settings = { ["Retention:AnswerHistory"] = "P30D" } };

    public Task InitializeAsync() => _service.WaitUntilReadyAsync();

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private Task<T> Db<T>(Func<MasteryDbContext, Task<T>> work) => _service.WithDbAsync(work);

    private IBus Bus => _service.Services.GetRequiredService<IBus>();

    private Task SeedAsync(string student, DateTimeOffset answeredAt) => Db(db =>
    {
        db.Students.Add(new EnrolledStudent { StudentId = student, SchoolId = "gov-school", GivenName = "Given", FamilyName = student });
        db.Mastery.Add(new StudentSkillMastery { StudentId = student, SkillId = "fractions", ProbabilityMastered = 0.4, Attempts = 2, UpdatedAt = answeredAt });
        db.AppliedResponses.Add(new AppliedResponse { StudentId = student, ItemId = "i1", AttemptNumber = 1, Correct = true, SkillIds = "fractions", AnsweredAt = answeredAt });
        db.Steps.AddRange(
            new MasteryStep { StudentId = student, SkillId = "fractions", ItemId = "i1", AttemptNumber = 1, Correct = true, AnsweredAt = answeredAt, ProbabilityAfter = 0.4 },
            new MasteryStep { StudentId = student, SkillId = "fractions", ItemId = "i0", AttemptNumber = 1, Correct = false, AnsweredAt = answeredAt.AddMinutes(-1), ProbabilityAfter = 0.2 });
        db.Publish(new MasteryChanged(student, "fractions", 0.4, false, 2, answeredAt));
        return db.SaveChangesAsync();
    });

    private Task<Dictionary<string, int>> RowsOfAsync(string student) => Db(async db => new Dictionary<string, int>
    {
        ["Mastery"] = await db.Mastery.CountAsync(m => m.StudentId == student),
        ["AppliedResponses"] = await db.AppliedResponses.CountAsync(r => r.StudentId == student),
        ["Steps"] = await db.Steps.CountAsync(s => s.StudentId == student),
        ["Students"] = await db.Students.CountAsync(s => s.StudentId == student),
        ["outbox"] = await db.Set<OutboxMessage>().CountAsync(m => m.Body.Contains($"\"StudentId\":\"{student}\"") && !m.MessageType.Contains(".StudentErasure")),
    });

    [Fact]
    public async Task Erasure_removes_the_student_keeps_the_other_confirms_with_counts_and_a_redelivery_changes_nothing()
    {
        var (a, b) = ($"gov-a-{Guid.NewGuid():N}"[..16], $"gov-b-{Guid.NewGuid():N}"[..16]);
        await SeedAsync(a, DateTimeOffset.UtcNow);
        await SeedAsync(b, DateTimeOffset.UtcNow);
        var before = await RowsOfAsync(b);

        var request = new StudentErasureRequested(Guid.NewGuid(), a, "test-admin", DateTimeOffset.UtcNow);
        await Bus.Publish(request);
        var first = Assert.Single(await ErasureProbe.WaitForConfirmationsAsync<MasteryDbContext>(_service.Services, request.RequestId, 1));
        Assert.Equal("mastery", first.GetProperty("Service").GetString());
        Assert.Equal(new Dictionary<string, int> { ["Mastery"] = 1, ["AppliedResponses"] = 1, ["Steps"] = 2, ["Students"] = 1, ["outbox"] = 1 },
            ErasureProbe.Rows(first));
        Assert.All(await RowsOfAsync(a), kv => Assert.True(kv.Value == 0, $"{kv.Key} still holds {kv.Value} row(s) of A"));
        Assert.Equal(before, await RowsOfAsync(b));

        // Redelivered: nothing more to delete, confirmed again with zeros, one tombstone.
        await Bus.Publish(request);
        var both = await ErasureProbe.WaitForConfirmationsAsync<MasteryDbContext>(_service.Services, request.RequestId, 2);
        Assert.Equal(2, both.Count);
        Assert.All(ErasureProbe.Rows(both[1]), kv => Assert.Equal(0, kv.Value));
        Assert.Equal(1, await Db(db => db.Set<ErasedStudent>().CountAsync(e => e.RequestId == request.RequestId)));
        Assert.Equal(before, await RowsOfAsync(b));

        // A late event about A does not bring them back; the same event about another student is handled.
        var marker = $"gov-m-{Guid.NewGuid():N}"[..16];
        await Bus.Publish(new StudentEnrolled(a, "gov-school", "Given", a, "9", DateTimeOffset.UtcNow));
        await Bus.Publish(new StudentEnrolled(marker, "gov-school", "Given", marker, "9", DateTimeOffset.UtcNow));
        Assert.Equal(1, await Eventually.WaitAsync(() => Db(db => db.Students.CountAsync(s => s.StudentId == marker)), n => n == 1, TimeSpan.FromSeconds(30)));
        await Task.Delay(500);
        Assert.Equal(0, await Db(db => db.Students.CountAsync(s => s.StudentId == a)));
        // The tombstone keeps a keyed hash, not the id.
        Assert.Equal(0, await Db(db => db.Set<ErasedStudent>().CountAsync(e => e.StudentKey.Contains(a))));
    }

    [Fact]
    public async Task Retention_purges_answer_history_older_than_the_period_and_keeps_younger()
    {
        var (old, young) = ($"ret-o-{Guid.NewGuid():N}"[..16], $"ret-y-{Guid.NewGuid():N}"[..16]);
        await SeedAsync(old, DateTimeOffset.UtcNow.AddDays(-45));
        await SeedAsync(young, DateTimeOffset.UtcNow.AddDays(-5));

        using var http = _service.CreateClient();
        using var response = await http.PostAsync("/api/mastery/v1/retention/run", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var run = await response.Content.ReadFromJsonAsync<JsonElement>();
        var kinds = run.GetProperty("kinds").EnumerateArray().ToDictionary(k => k.GetProperty("kind").GetString()!);
        Assert.True(kinds["AnswerHistory"].GetProperty("deleted").GetInt32() >= 3);
        Assert.Equal(JsonValueKind.Null, kinds["OutboxSent"].GetProperty("period").ValueKind);

        var oldRows = await RowsOfAsync(old);
        Assert.Equal(0, oldRows["Steps"]);
        Assert.Equal(0, oldRows["AppliedResponses"]);
        Assert.Equal(1, oldRows["Mastery"]);   // the current estimate is not history
        var youngRows = await RowsOfAsync(young);
        Assert.Equal(2, youngRows["Steps"]);
        Assert.Equal(1, youngRows["AppliedResponses"]);
    }
}
