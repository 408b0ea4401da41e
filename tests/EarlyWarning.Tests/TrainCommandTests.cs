using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.EarlyWarning.Scoring;
using Beacon.EarlyWarning.Storage;
using Beacon.RiskModels;
using Beacon.RiskModels.Attendance;
using Beacon.ServiceDefaults;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.EarlyWarning.Tests;

/// <summary>
/// The training entry point (<c>EarlyWarning train ...</c>) as the chart's CronJob and install Job run it: the built
/// service as a process, against the test PostgreSQL and RabbitMQ, while a replica of the service runs on the same
/// database. It registers versions whose artifacts are in the database (bytes and hash, nothing on disk); the replica
/// relays the promotion from the outbox, hears it on the broker and loads the version from the database; a version
/// whose stored bytes were changed is refused; a replica started afterwards loads the active version before it reports ready. Usage errors exit 2; a district source without two years of outcomes is refused (1) with the reason.
/// </summary>
public sealed class TrainCommandTests
{
    [SkippableFact]
    public async Task Train_registers_a_version_stored_in_the_database_that_another_replica_loads_on_its_promotion()
    {
        var server = TestEnvironment.Postgres;
        Skip.If(server is null, "no PostgreSQL (BEACON_TEST_POSTGRES)");
        var database = TestPostgres.NewDatabase(server);
        var data = TestEnvironment.NewTempDirectory("train-command");

        // A replica runs on the database, as in the cluster when the CronJob trains.
        await using var replica = new ServiceFactory<Program> { ConnectionString = database };
        using var client = replica.CreateClient();
        Assert.True(await Eventually.WaitAsync(async () => (await client.GetAsync("/healthz/ready")).IsSuccessStatusCode, ready => ready, TimeSpan.FromSeconds(60)));
        var models = replica.Services.GetRequiredService<LoadedModels>();

        var promoted = await RunAsync(database, data, "--kind", AttendanceFeatures.Kind, "--source", "synthetic", "--students", "1500", "--seed", "11", "--promote");
        Assert.True(promoted.Code == TrainCommand.Registered, promoted.ToString());
        Assert.Matches($"RESULT train kind={AttendanceFeatures.Kind} version=1 model=[0-9a-f-]{{36}} status=active source=synthetic .*auc=0\\.\\d+", promoted.Out);
        var candidate = await RunAsync(database, data, "--kind", AttendanceFeatures.Kind, "--students", "1500", "--seed", "12");
        Assert.True(candidate.Code == TrainCommand.Registered, candidate.ToString());
        Assert.Contains("version=2", candidate.Out, StringComparison.Ordinal);
        Assert.Contains("status=candidate", candidate.Out, StringComparison.Ordinal);
        // Nothing was written where the model files used to go.
        Assert.False(Directory.Exists(Path.Combine(data, "models")), "the train command wrote a models folder");

        Guid activeId;
        await using (var db = Open(database))
        {
            var versions = await db.Models.AsNoTracking().OrderBy(m => m.Version).ToListAsync();
            Assert.Equal([ModelStatus.Active, ModelStatus.Candidate], versions.Select(v => v.Status));
            activeId = versions[0].ModelId;
            foreach (var version in versions)
            {
                var artifact = await db.ModelArtifacts.AsNoTracking().SingleAsync(a => a.ModelId == version.ModelId);
                Assert.Equal(ModelArtifact.Hash(artifact.Bytes), artifact.Sha256);
                Assert.Equal(artifact.Bytes.Length, artifact.Size);
                // The stored bytes are the model: they load and score.
                var model = new RiskModel(new MemoryStream(artifact.Bytes), version.Kind, version.Threshold);
                Assert.InRange(model.Predict(AttendanceFeatures.Compute(Days("PPPPPPPPAPPAAPAAAAPA"))).Probability, 0, 1);
            }
            // Corrupt the candidate's bytes: it must never be served.
            var stored = await db.ModelArtifacts.SingleAsync(a => a.ModelId == versions[1].ModelId);
            stored.Bytes = [.. stored.Bytes.Take(stored.Bytes.Length - 1), (byte)(stored.Bytes[^1] ^ 0xFF)];
            await db.SaveChangesAsync();
        }

        // The running replica's relay publishes the promotion the train command left in the outbox; its own queue
        // receives ModelActivated from the broker and it loads the version from the database.
        Assert.True(await Eventually.WaitAsync(() => Task.FromResult(models.ActivationHeard(activeId) is not null && models.IsLoaded(activeId)),
            heard => heard, TimeSpan.FromSeconds(60)), "the replica did not hear the promotion (ModelActivated) and load the version");
        await using (var db = Open(database))
        {
            var activation = await db.Set<Beacon.Messaging.OutboxMessage>().AsNoTracking().SingleAsync(m => m.MessageType.Contains("ModelActivated"));
            Assert.NotNull(activation.SentAt);
        }

        // The changed candidate is refused with the reason, not promoted.
        string candidateId;
        await using (var db = Open(database))
        {
            candidateId = (await db.Models.AsNoTracking().SingleAsync(m => m.Version == 2)).ModelId.ToString();
        }
        using var refused = await client.PostAsJsonAsync($"/api/early-warning/v1/models/{candidateId}/promote", new { });
        Assert.False(refused.IsSuccessStatusCode);
        Assert.True((int)refused.StatusCode < 500, $"{(int)refused.StatusCode}");
        Assert.Contains("SHA-256", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var list = await client.GetFromJsonAsync<JsonElement>($"/api/early-warning/v1/models?kind={AttendanceFeatures.Kind}");
        Assert.Contains(list.GetProperty("models").EnumerateArray(), m => m.GetProperty("status").GetString() == ModelStatus.Active && m.GetProperty("version").GetInt32() == 1);

        // A replica started now (a deploy, a restart: no promotion event for it to hear) loads and runs the active version
        // before it reports ready, so the first student it scores does not wait for the model (issue #24 item 3).
        await using var restarted = new ServiceFactory<Program> { ConnectionString = database };
        using var restartedClient = restarted.CreateClient();
        Assert.True(await Eventually.WaitAsync(async () => (await restartedClient.GetAsync("/healthz/ready")).IsSuccessStatusCode, ready => ready, TimeSpan.FromSeconds(60)));
        Assert.True(restarted.Services.GetRequiredService<LoadedModels>().IsLoaded(activeId), "the restarted replica reported ready before loading the active model");
    }

    [Fact]
    public async Task Usage_errors_exit_2_and_a_district_without_history_is_refused_with_the_reason()
    {
        var data = TestEnvironment.NewTempDirectory("train-command");
        var sqlite = $"Data Source={Path.Combine(data, "ew.db")}";
        var district = await RunAsync(sqlite, data, "--kind", AttendanceFeatures.Kind, "--source", "district");
        // Training from history is there, but an empty district has no two school years of outcomes: refused, and said why.
        Assert.Equal(TrainCommand.Refused, district.Code);
        Assert.Contains("needs outcomes of two school years", district.Err, StringComparison.Ordinal);
        var noKind = await RunAsync(sqlite, data, "--source", "synthetic");
        Assert.Equal(TrainCommand.UsageError, noKind.Code);
        Assert.Contains("--kind is required", noKind.Err, StringComparison.Ordinal);
        var badNumber = await RunAsync(sqlite, data, "--kind", AttendanceFeatures.Kind, "--students", "many");
        Assert.Equal(TrainCommand.UsageError, badNumber.Code);
        var unknownKind = await RunAsync(sqlite, data, "--kind", "grades");
        Assert.Equal(TrainCommand.Refused, unknownKind.Code);
        Assert.Contains("Unknown model kind 'grades'", unknownKind.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Backfill_monitoring_from_the_command_line_names_a_bad_field_and_refuses_without_a_model()
    {
        var data = TestEnvironment.NewTempDirectory("backfill-command");
        var sqlite = $"Data Source={Path.Combine(data, "ew.db")}";
        var badDate = await RunCommandAsync(Monitoring.BackfillCommand.Name, sqlite, data, "--from", "2026-13-01");
        Assert.True(badDate.Code == 2, badDate.ToString());
        Assert.Contains("from:", badDate.Err, StringComparison.Ordinal);
        var unknown = await RunCommandAsync(Monitoring.BackfillCommand.Name, sqlite, data, "--since", "2026-09-01");
        Assert.True(unknown.Code == 2, unknown.ToString());
        Assert.Contains("unknown option '--since'", unknown.Err, StringComparison.Ordinal);
        // A fresh database has no active model to measure: refused (1), with the reason, and nothing recorded.
        var noModel = await RunCommandAsync(Monitoring.BackfillCommand.Name, sqlite, data, "--kind", AttendanceFeatures.Kind);
        Assert.True(noModel.Code == 1, noModel.ToString());
        Assert.False(string.IsNullOrWhiteSpace(noModel.Err));
        await using var db = Open(sqlite);
        Assert.Equal(0, await db.DriftRuns.CountAsync());
    }

    private sealed record Run(int Code, string Out, string Err)
    {
        public override string ToString() => $"exit {Code}\n{Out}\n{Err}";
    }

    /// <summary>The service's own build, run as the CronJob runs it (the command, then settings as --Key=value).</summary>
    private static Task<Run> RunAsync(string database, string data, params string[] options) => RunCommandAsync("train", database, data, options);

    private static async Task<Run> RunCommandAsync(string command, string database, string data, params string[] options)
    {
#if DEBUG
        const string configuration = "Debug";
#else
        const string configuration = "Release";
#endif
        var dll = Path.Combine(TestEnvironment.RepositoryRoot(), "services", "EarlyWarning", "bin", configuration, "net10.0", "EarlyWarning.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { dll, command }.Concat(options).Concat([
            $"--ConnectionStrings:Database={database}", $"--ConnectionStrings:RabbitMQ={TestEnvironment.RabbitMq}", $"--Bus:ExchangePrefix=train{Guid.NewGuid():N}",
            $"--Beacon:DataDirectory={data}", $"--Auth:SigningKey={TestTokens.SigningKey}", "--EarlyWarning:Models:Trees=30"]))
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await process.WaitForExitAsync(timeout.Token);
        return new Run(process.ExitCode, await stdout, await stderr);
    }

    private static EarlyWarningDbContext Open(string connectionString) =>
        new((DbContextOptions<EarlyWarningDbContext>)new DbContextOptionsBuilder<EarlyWarningDbContext>().UseServiceDatabase(connectionString).Options);

    private static SchoolDay[] Days(string pattern) =>
        pattern.Select((c, i) => new SchoolDay(new DateOnly(2026, 9, 7).AddDays(i / 5 * 7 + i % 5), c == 'A' ? "absent" : "present")).ToArray();
}
