using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.Mastery.Domain;
using Beacon.Mastery.Storage;
using Beacon.Messaging;
using Beacon.ServiceDefaults;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.Mastery.Tests;

/// <summary>Mastery hosted against the real RabbitMQ: answers in, stored mastery and MasteryChanged out; the teacher views over REST.</summary>
public sealed class MasteryServiceTests : IAsyncLifetime
{
    private readonly ServiceFactory<Program> _service = new()
    {
        Settings = { ["Mastery:MinimumResponsesToFit"] = "50" },
    };

    private MasteryChangedListener? _listener;

    private IReadOnlyCollection<MasteryChanged> Changes => _listener!.Changes;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        await _service.WaitUntilReadyAsync();
        _http = _service.CreateClient();
        _listener = await MasteryChangedListener.StartAsync(_service.Services.GetRequiredService<IBus>());
    }

    public async Task DisposeAsync()
    {
        if (_listener is not null)
        {
            await _listener.DisposeAsync();
        }
        _http.Dispose();
        await _service.DisposeAsync();
    }

    private IBus Bus => _service.Services.GetRequiredService<IBus>();

    private static ItemResponseRecorded Answer(string student, string item, string skill, bool correct, int attempt = 1, DateTimeOffset? at = null) =>
        new(student, item, [skill], correct, attempt, 0, 30, at ?? DateTimeOffset.UtcNow);

    private async Task PublishAsync(IEnumerable<ItemResponseRecorded> answers)
    {
        foreach (var answer in answers)
        {
            await Bus.Publish(answer);
        }
    }

    private Task<StudentSkillMastery?> MasteryAsync(string student, string skill) =>
        _service.WithDbAsync<MasteryDbContext, StudentSkillMastery?>(db => db.Mastery.AsNoTracking().SingleOrDefaultAsync(m => m.StudentId == student && m.SkillId == skill));

    private async Task<JsonElement> GetJsonAsync(string url)
    {
        using var response = await _http.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{url}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    [Fact]
    public async Task Answers_update_mastery_and_publish_MasteryChanged_and_a_redelivery_changes_nothing()
    {
        var student = $"stu-{Guid.NewGuid():N}";
        var answers = new[] { true, true, false, true, true, true }
            .Select((c, i) => Answer(student, $"item-{i}", "fractions", c, at: DateTimeOffset.UtcNow.AddMinutes(i))).ToList();
        await PublishAsync(answers);

        var mastery = await Eventually.WaitAsync(() => MasteryAsync(student, "fractions"), m => m?.Attempts == 6, TimeSpan.FromSeconds(60));
        Assert.Equal(6, mastery!.Attempts);
        Assert.Equal(5, mastery.CorrectAnswers);
        // The same sequence through the model with the default parameters (the skill is not fitted yet).
        var expected = new BktParameters().PriorKnowledge;
        foreach (var a in answers)
        {
            expected = KnowledgeTracing.Update(expected, a.Correct, new BktParameters());
        }
        Assert.Equal(expected, mastery.ProbabilityMastered, 9);

        var published = await Eventually.WaitAsync(() => Task.FromResult(Changes.Where(c => c.StudentId == student).ToList()), c => c.Count == 6, TimeSpan.FromSeconds(60));
        Assert.Equal(6, published.Count);
        Assert.Equal(expected, published.MaxBy(c => c.Attempts)!.ProbabilityMastered, 9);

        // Redelivery (the same six answers again): nothing moves, nothing is published.
        await PublishAsync(answers);
        await PublishAsync([Answer(student, "item-marker", "marker", true)]);
        await Eventually.WaitAsync(() => MasteryAsync(student, "marker"), m => m is not null, TimeSpan.FromSeconds(60));
        await Eventually.WaitAsync(() => Task.FromResult(Changes.Count(c => c.StudentId == student)), n => n == 7, TimeSpan.FromSeconds(30));
        await Task.Delay(500);
        var after = await MasteryAsync(student, "fractions");
        Assert.Equal(6, after!.Attempts);
        Assert.Equal(mastery.ProbabilityMastered, after.ProbabilityMastered);
        Assert.Equal(7, Changes.Count(c => c.StudentId == student));
        Assert.Equal(7, await _service.WithDbAsync<MasteryDbContext, int>(db => db.Steps.CountAsync(s => s.StudentId == student)));
        // Everything left through the outbox (other tests of this class may still be draining theirs).
        Assert.Equal(0, await Eventually.WaitAsync(
            () => _service.WithDbAsync<MasteryDbContext, int>(db => db.Set<OutboxMessage>().CountAsync(m => m.SentAt == null)), n => n == 0, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Answers_delivered_out_of_order_give_the_same_mastery_as_in_answer_order()
    {
        var student = $"stu-{Guid.NewGuid():N}";
        var start = DateTimeOffset.UtcNow.AddHours(-1);
        var answers = new[] { false, true, true, false, true, true, true }
            .Select((c, i) => Answer(student, $"late-{i}", "decimals", c, at: start.AddMinutes(i))).ToList();
        await PublishAsync(answers.AsEnumerable().Reverse());

        var mastery = await Eventually.WaitAsync(() => MasteryAsync(student, "decimals"), m => m?.Attempts == 7, TimeSpan.FromSeconds(60));
        var expected = new BktParameters().PriorKnowledge;
        foreach (var a in answers)
        {
            expected = KnowledgeTracing.Update(expected, a.Correct, new BktParameters());
        }
        Assert.Equal(expected, mastery!.ProbabilityMastered, 9);
    }

    [Fact]
    public async Task A_bad_skill_graph_is_a_400_naming_each_problem_and_stores_nothing()
    {
        using var cyclic = await _http.PutAsJsonAsync("/api/mastery/v1/skills", new
        {
            skills = new object[]
            {
                new { skillId = "g-a", prerequisites = new[] { "g-b" } },
                new { skillId = "g-b", prerequisites = new[] { "g-a", "g-unknown" } },
                new { skillId = "", prerequisites = Array.Empty<string>() },
            },
        });
        Assert.Equal(HttpStatusCode.BadRequest, cyclic.StatusCode);
        var problem = JsonDocument.Parse(await cyclic.Content.ReadAsStringAsync()).RootElement;
        var errors = problem.GetProperty("errors");
        Assert.Contains("Cycle", errors.GetProperty("skills[0].prerequisites")[0].GetString());
        Assert.Contains("Unknown skill 'g-unknown'", errors.GetProperty("skills[1].prerequisites[1]")[0].GetString());
        Assert.Contains("required", errors.GetProperty("skills[2].skillId")[0].GetString());

        using var malformed = await _http.PutAsync("/api/mastery/v1/skills", new StringContent("{\"skills\": [ {\"skillId\": 3", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        using var wrongType = await _http.PutAsync("/api/mastery/v1/skills", new StringContent("{\"skills\": 5}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, wrongType.StatusCode);

        var skills = await GetJsonAsync("/api/mastery/v1/skills");
        Assert.DoesNotContain(skills.GetProperty("skills").EnumerateArray(), s => s.GetProperty("skillId").GetString()!.StartsWith("g-", StringComparison.Ordinal));
    }

    // The shared JSON body reader (Beacon.ServiceDefaults.JsonBody): before it, a duplicate key was taken
    // silently (the last one won) and bytes that are not UTF-8 were read as replacement characters.
    [Theory]
    [InlineData("{\"skills\":[{\"skillId\":\"j-a\",\"skillId\":\"j-b\"}]}", "Duplicate")]
    [InlineData("{\"skills\":[],\"skills\":[{\"skillId\":\"j-a\"}]}", "Duplicate")]
    [InlineData("{\"skills\":[{\"skillId\":\"j-a\",\"name\":1e309}]}", "$.skills[0].name")]
    [InlineData("{\"skills\":[{\"skillId\":\"NAME\"}]}", "UTF-8")]
    public async Task A_skill_graph_with_duplicate_keys_bad_numbers_or_bytes_that_are_not_utf8_is_a_400_naming_it(string json, string mentioned)
    {
        // NAME is replaced by bytes that are not UTF-8 (a broken two-byte sequence, then 0xFF 0xFE).
        var bytes = System.Text.Encoding.UTF8.GetBytes(json).ToList();
        var at = bytes.ToArray().AsSpan().IndexOf("NAME"u8);
        if (at >= 0)
        {
            bytes.RemoveRange(at, 4);
            bytes.InsertRange(at, [0xC3, 0x28, 0xFF, 0xFE]);
        }
        var content = new ByteArrayContent([.. bytes]);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");

        using var response = await _http.PutAsync("/api/mastery/v1/skills", content);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode} {text}");
        Assert.Contains("Malformed JSON", text, StringComparison.Ordinal);
        Assert.Contains(mentioned, text, StringComparison.Ordinal);
        var skills = await GetJsonAsync("/api/mastery/v1/skills");
        Assert.DoesNotContain(skills.GetProperty("skills").EnumerateArray(), s => s.GetProperty("skillId").GetString()!.StartsWith("j-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_struggling_student_is_sent_to_the_weakest_prerequisite_and_shows_in_the_school_overview()
    {
        var school = $"sch-{Guid.NewGuid():N}";
        var stuck = $"stu-{Guid.NewGuid():N}";
        var fine = $"stu-{Guid.NewGuid():N}";
        await Bus.Publish(new StudentEnrolled(stuck, school, "Ada", "Lovelace", "5", DateTimeOffset.UtcNow));
        await Bus.Publish(new StudentEnrolled(fine, school, "Alan", "Turing", "5", DateTimeOffset.UtcNow));

        using (var put = await _http.PutAsJsonAsync("/api/mastery/v1/skills", new
        {
            skills = new object[]
            {
                new { skillId = "o-fractions", name = "Fractions", prerequisites = Array.Empty<string>() },
                new { skillId = "o-equivalent", name = "Equivalent fractions", prerequisites = new[] { "o-fractions" } },
                new { skillId = "o-comparing", name = "Comparing fractions", prerequisites = new[] { "o-equivalent" } },
            },
        }))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        var weekAgo = DateTimeOffset.UtcNow.AddDays(-10);
        var answers = new List<ItemResponseRecorded>
        {
            Answer(stuck, "o-q1", "o-fractions", true, 1, weekAgo),
            Answer(stuck, "o-q2", "o-equivalent", true, 1, weekAgo.AddMinutes(1)),
        };
        // Six wrong answers on comparing fractions, item o-q9 failed three times.
        for (var i = 0; i < 6; i++)
        {
            answers.Add(Answer(stuck, i < 3 ? "o-q9" : $"o-q{10 + i}", "o-comparing", false, i < 3 ? i + 1 : 1, DateTimeOffset.UtcNow.AddMinutes(i)));
        }
        for (var i = 0; i < 6; i++)
        {
            answers.Add(Answer(fine, $"o-q{20 + i}", "o-comparing", true, 1, DateTimeOffset.UtcNow.AddMinutes(i)));
        }
        await PublishAsync(answers);
        await Eventually.WaitAsync(() => MasteryAsync(stuck, "o-comparing"), m => m?.Attempts == 6, TimeSpan.FromSeconds(60));
        await Eventually.WaitAsync(() => MasteryAsync(fine, "o-comparing"), m => m?.Attempts == 6, TimeSpan.FromSeconds(60));
        await Eventually.WaitAsync(
            () => _service.WithDbAsync<MasteryDbContext, int>(db => db.Students.CountAsync(s => s.SchoolId == school)), n => n == 2, TimeSpan.FromSeconds(60));

        var view = await GetJsonAsync($"/api/mastery/v1/students/{stuck}/mastery");
        var comparing = view.GetProperty("skills").EnumerateArray().Single(s => s.GetProperty("skillId").GetString() == "o-comparing");
        Assert.True(comparing.GetProperty("struggling").GetBoolean());
        Assert.False(comparing.GetProperty("mastered").GetBoolean());
        // Six wrong answers: mastery dropped at once, then stays low (BKT settles near its learning rate).
        Assert.Equal("steady", comparing.GetProperty("trend").GetString());
        Assert.True(comparing.GetProperty("changeSinceLastWeek").GetDouble() < -0.1);
        Assert.Equal("Comparing fractions", comparing.GetProperty("skillName").GetString());
        var fractions = view.GetProperty("skills").EnumerateArray().Single(s => s.GetProperty("skillId").GetString() == "o-fractions");
        // Answered 10 days ago: no change since last week.
        Assert.Equal(0, fractions.GetProperty("changeSinceLastWeek").GetDouble(), 9);

        // Equivalent fractions (one correct answer, ~0.79) is weaker than fractions (~0.79 too but with
        // the same defaults); both unmastered: the weakest, then the more basic one, comes first.
        var next = await GetJsonAsync($"/api/mastery/v1/students/{stuck}/skills/o-comparing/next");
        Assert.True(next.GetProperty("struggling").GetBoolean());
        Assert.Equal("o-fractions", next.GetProperty("targetSkillId").GetString());
        Assert.Equal(2, next.GetProperty("unmasteredPrerequisites").GetArrayLength());

        var overview = await GetJsonAsync($"/api/mastery/v1/schools/{school}/overview");
        Assert.Equal(2, overview.GetProperty("students").GetInt32());
        var struggling = Assert.Single(overview.GetProperty("struggling").EnumerateArray());
        Assert.Equal("o-comparing", struggling.GetProperty("skillId").GetString());
        Assert.Equal(1, struggling.GetProperty("studentCount").GetInt32());
        var who = Assert.Single(struggling.GetProperty("students").EnumerateArray());
        Assert.Equal(stuck, who.GetProperty("studentId").GetString());
        Assert.Equal("Ada", who.GetProperty("givenName").GetString());
        var top = overview.GetProperty("topFailureSkills").EnumerateArray().ToList();
        Assert.Equal("o-comparing", top[0].GetProperty("skillId").GetString());
        Assert.Equal(0.5, top[0].GetProperty("failureRate").GetDouble(), 9);
        var item = Assert.Single(overview.GetProperty("repeatedFailureItems").EnumerateArray());
        Assert.Equal("o-q9", item.GetProperty("itemId").GetString());
        Assert.Equal(3, item.GetProperty("wrong").GetInt32());

        var summary = await GetJsonAsync($"/api/mastery/v1/students/{stuck}/summary");
        Assert.Equal(3, summary.GetProperty("skillsAttempted").GetInt32());
        Assert.Equal(1, summary.GetProperty("skillsStruggling").GetInt32());
        Assert.Equal(8, summary.GetProperty("answers").GetInt32());
        Assert.Equal(6, summary.GetProperty("answersLastWeek").GetInt32());

        using var unknown = await _http.GetAsync($"/api/mastery/v1/students/{stuck}/skills/no-such-skill/next");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Refit_fits_a_skill_from_recorded_answers_and_replays_stored_mastery_with_the_new_parameters()
    {
        var skill = $"r-{Guid.NewGuid():N}"[..12];
        var truth = new BktParameters(0.2, 0.25, 0.15, 0.1);
        var sequences = BktSimulator.Generate(truth, students: 40, attempts: 8, new Random(11));
        var students = sequences.Select((_, i) => $"stu-{skill}-{i}").ToList();
        var start = DateTimeOffset.UtcNow.AddHours(-1);
        await PublishAsync(sequences.SelectMany((seq, s) => seq.Select((c, t) => Answer(students[s], $"{skill}-i{t}", skill, c, 1, start.AddMinutes(t)))));
        await Eventually.WaitAsync(
            () => _service.WithDbAsync<MasteryDbContext, int>(db => db.Steps.CountAsync(s => s.SkillId == skill)), n => n == 320, TimeSpan.FromSeconds(60));

        using var refit = await _http.PostAsJsonAsync("/api/mastery/v1/skills/refit", new { });
        var body = await refit.Content.ReadAsStringAsync();
        Assert.True(refit.IsSuccessStatusCode, body);
        var outcome = JsonDocument.Parse(body).RootElement.GetProperty("skills").EnumerateArray().Single(o => o.GetProperty("skillId").GetString() == skill);
        Assert.True(outcome.GetProperty("fitted").GetBoolean());
        Assert.Equal(320, outcome.GetProperty("responses").GetInt32());
        var fitted = outcome.GetProperty("skill");
        var p = new BktParameters(fitted.GetProperty("priorKnowledge").GetDouble(), fitted.GetProperty("learn").GetDouble(),
            fitted.GetProperty("guess").GetDouble(), fitted.GetProperty("slip").GetDouble(), fitted.GetProperty("forget").GetDouble());
        Assert.True(p.Guess < 0.5 && p.Slip < 0.5);
        Assert.NotEqual(new BktParameters(), p);

        // Stored mastery now equals each student's answers replayed with the fitted parameters.
        for (var s = 0; s < 3; s++)
        {
            var expected = p.PriorKnowledge;
            foreach (var c in sequences[s])
            {
                expected = KnowledgeTracing.Update(expected, c, p);
            }
            Assert.Equal(expected, (await MasteryAsync(students[s], skill))!.ProbabilityMastered, 6);
        }

        // New answers use the fitted parameters.
        var before = (await MasteryAsync(students[0], skill))!.ProbabilityMastered;
        await Bus.Publish(Answer(students[0], $"{skill}-new", skill, true));
        var after = await Eventually.WaitAsync(() => MasteryAsync(students[0], skill), m => m?.Attempts == 9, TimeSpan.FromSeconds(60));
        Assert.Equal(KnowledgeTracing.Update(before, true, p), after!.ProbabilityMastered, 6);
    }
}
