using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Gateway.Security;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Gateway.Tests;

/// <summary>
/// Retention:AuditEntries: unset, the audit log is kept however old; set, POST /api/audit/v1/retention/run
/// (administrators only) deletes the entries older than the period and keeps the younger ones.
/// </summary>
public sealed class AuditRetentionTests : IAsyncLifetime
{
    private readonly ServiceFactory<Program> _kept = new();
    private readonly ServiceFactory<Program> _purged = new() { Settings = { ["Retention:AuditEntries"] = "P30D" } };

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _kept.DisposeAsync();
        await _purged.DisposeAsync();
    }

    private static Task SeedAsync(ServiceFactory<Program> gateway, string student, DateTimeOffset at) =>
        gateway.WithDbAsync<AuditDbContext, int>(db =>
        {
            db.Entries.Add(new AuditEntry { At = at, UserId = "c-north-1", Roles = "counselor", Method = "GET", Path = $"/api/ingestion/v1/students/{student}", StudentId = student, StatusCode = 200 });
            return db.SaveChangesAsync();
        });

    private static Task<int> EntriesAsync(ServiceFactory<Program> gateway, string student) =>
        gateway.WithDbAsync<AuditDbContext, int>(db => db.Entries.CountAsync(e => e.StudentId == student));

    private static async Task<JsonElement> RunAsync(ServiceFactory<Program> gateway)
    {
        using var admin = gateway.CreateClient();
        using var response = await admin.PostAsync("/api/audit/v1/retention/run", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("kinds").EnumerateArray()
            .Single(k => k.GetProperty("kind").GetString() == Audit.RetentionKind);
    }

    [Fact]
    public async Task Set_entries_older_than_the_period_are_purged_and_younger_kept_and_only_administrators_run_it()
    {
        _purged.CreateClient().Dispose();   // starts the gateway and creates its database
        await SeedAsync(_purged, "aud-old", DateTimeOffset.UtcNow.AddDays(-60));
        await SeedAsync(_purged, "aud-young", DateTimeOffset.UtcNow.AddDays(-5));

        foreach (var token in new[] { TestTokens.Counselor("c-north-1", "north"), TestTokens.Ops(), TestTokens.Coordinator("coord-north", "north") })
        {
            using var caller = _purged.CreateClientAs(token);
            using var refused = await caller.PostAsync("/api/audit/v1/retention/run", null);
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }
        using (var anonymous = _purged.CreateClientAs(null))
        using (var refused = await anonymous.PostAsync("/api/audit/v1/retention/run", null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }
        Assert.Equal(1, await EntriesAsync(_purged, "aud-old"));

        var outcome = await RunAsync(_purged);
        Assert.Equal("P30D", outcome.GetProperty("period").GetString());
        Assert.Equal(1, outcome.GetProperty("deleted").GetInt32());
        Assert.Equal(0, await EntriesAsync(_purged, "aud-old"));
        Assert.Equal(1, await EntriesAsync(_purged, "aud-young"));
    }

    [Fact]
    public async Task Unset_the_audit_log_is_kept_however_old()
    {
        _kept.CreateClient().Dispose();
        await SeedAsync(_kept, "aud-ancient", DateTimeOffset.UtcNow.AddYears(-20));

        var outcome = await RunAsync(_kept);
        Assert.Equal(JsonValueKind.Null, outcome.GetProperty("period").ValueKind);
        Assert.Equal(0, outcome.GetProperty("deleted").GetInt32());
        Assert.Equal(1, await EntriesAsync(_kept, "aud-ancient"));
    }
}
