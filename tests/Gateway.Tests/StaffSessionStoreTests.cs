using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using Beacon.Gateway.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Beacon.Gateway.Tests;

/// <summary>
/// The staff session store's writes, in the gateway's own database (SQLite here): the newest tokens are the only copy,
/// an older token set never replaces a newer one, and every refresh token issued to a session is revoked when it ends,
/// including one a renewal got after the sign-out and one two replicas got from the same redemption. (The whole flow
/// against a real OpenID Connect provider is Dashboard.Tests' OidcSignInTests.)
/// </summary>
public sealed class StaffSessionStoreTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("beacon-sessions-").FullName;
    private readonly RecordingProvider _provider = new();
    private ServiceProvider _services = null!;
    private StaffSessionStore _store = null!;
    private static readonly DateTimeOffset Start = DateTimeOffset.UtcNow;

    public async Task InitializeAsync()
    {
        _services = new ServiceCollection()
            .AddDbContext<AuditDbContext>(o => o.UseSqlite($"Data Source={Path.Combine(_folder, "gateway.db")}"))
            .BuildServiceProvider();
        await using (var scope = _services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<AuditDbContext>().Database.EnsureCreatedAsync();
        }
        _store = new StaffSessionStore(_services.GetRequiredService<IServiceScopeFactory>(), new EphemeralDataProtectionProvider(), _provider,
            TimeProvider.System, NullLogger<StaffSessionStore>.Instance);
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    private static AuthenticationTicket Ticket(string refreshToken, int accessSecondsFromStart)
    {
        var properties = new AuthenticationProperties { ExpiresUtc = Start.AddHours(10) };
        properties.StoreTokens(
        [
            new AuthenticationToken { Name = "access_token", Value = "access-" + refreshToken },
            new AuthenticationToken { Name = "refresh_token", Value = refreshToken },
            new AuthenticationToken { Name = "expires_at", Value = Start.AddSeconds(accessSecondsFromStart).ToString("o", CultureInfo.InvariantCulture) },
        ]);
        var principal = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "c-north-1")], "session"));
        return new AuthenticationTicket(principal, properties, "session");
    }

    private async Task<string?> CurrentRefreshTokenAsync(string key) => (await _store.RetrieveAsync(key))?.Properties.GetTokenValue("refresh_token");

    [Fact]
    public async Task The_cookie_names_a_session_whose_tokens_are_kept_encrypted_and_read_back_with_its_key()
    {
        var key = await _store.StoreAsync(Ticket("r1", 20));
        var ticket = await _store.RetrieveAsync(key);
        Assert.Equal("r1", ticket!.Properties.GetTokenValue("refresh_token"));
        Assert.Equal(key, ticket.Properties.Items[StaffSessionStore.KeyItem]);
        await using var scope = _services.CreateAsyncScope();
        var row = await scope.ServiceProvider.GetRequiredService<AuditDbContext>().StaffSessions.SingleAsync(s => s.Key == key);
        Assert.DoesNotContain("access-r1", row.Ticket, StringComparison.Ordinal);
        Assert.Equal("c-north-1", row.UserId);
        Assert.Null(await _store.RetrieveAsync("not-a-session"));
    }

    [Fact]
    public async Task An_older_token_set_never_replaces_a_newer_one_and_sign_out_revokes_both_refresh_tokens_it_was_issued()
    {
        var key = await _store.StoreAsync(Ticket("r1", 20));
        Assert.Equal(RenewalOutcome.Stored, (await _store.ReplaceAsync(key, Ticket("r2", 40), renewedFrom: "r1")).Outcome);
        // The cookie handler writing back a ticket read before that renewal: nothing changes, nothing is revoked.
        await _store.RenewAsync(key, Ticket("r1", 20));
        Assert.Equal("r2", await CurrentRefreshTokenAsync(key));
        // A renewal whose answer is older than what is stored (it started first, finished last): the stored tokens stay,
        // and the refresh token it got is kept for sign-out (it was never the session's).
        var (outcome, current) = await _store.ReplaceAsync(key, Ticket("r2-late", 30), renewedFrom: "r1");
        Assert.Equal(RenewalOutcome.Superseded, outcome);
        Assert.Equal("r2", current!.Properties.GetTokenValue("refresh_token"));
        Assert.Empty(_provider.Revoked);

        await _store.RemoveAsync(key);
        Assert.Equal(["r2", "r2-late"], _provider.Revoked.Order(StringComparer.Ordinal));
        Assert.Null(await _store.RetrieveAsync(key)); // a copied cookie names nothing any more
    }

    [Fact]
    public async Task A_renewal_that_completes_after_sign_out_revokes_the_refresh_token_it_got()
    {
        var key = await _store.StoreAsync(Ticket("r1", 20));
        await _store.RemoveAsync(key);
        Assert.Equal(["r1"], _provider.Revoked);
        var (outcome, current) = await _store.ReplaceAsync(key, Ticket("r2", 40), renewedFrom: "r1");
        Assert.Equal(RenewalOutcome.Ended, outcome);
        Assert.Null(current);
        Assert.Equal(["r1", "r2"], _provider.Revoked);
        Assert.Null(await _store.RetrieveAsync(key));
    }

    [Fact]
    public async Task Two_replicas_renewing_the_same_token_leave_one_current_and_the_other_revoked_at_sign_out()
    {
        var key = await _store.StoreAsync(Ticket("r1", 20));
        Assert.Equal(RenewalOutcome.Stored, (await _store.ReplaceAsync(key, Ticket("r2-a", 40), renewedFrom: "r1")).Outcome);
        // The other replica redeemed r1 too (a provider's reuse leeway) and its answer is newer: it becomes current.
        Assert.Equal(RenewalOutcome.Stored, (await _store.ReplaceAsync(key, Ticket("r2-b", 41), renewedFrom: "r1")).Outcome);
        Assert.Equal("r2-b", await CurrentRefreshTokenAsync(key));
        // The next renewal carries the orphan along.
        Assert.Equal(RenewalOutcome.Stored, (await _store.ReplaceAsync(key, Ticket("r3", 60), renewedFrom: "r2-b")).Outcome);
        Assert.Empty(_provider.Revoked);
        await _store.RemoveAsync(key);
        Assert.Equal(["r2-a", "r3"], _provider.Revoked.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Concurrent_renewal_writes_keep_the_newest_and_lose_no_refresh_token()
    {
        var key = await _store.StoreAsync(Ticket("r0", 10));
        // Many writers at once, each with its own answer: compare-and-set keeps the newest; the rest stay revocable.
        await Task.WhenAll(Enumerable.Range(1, 12).Select(i => Task.Run(() => _store.ReplaceAsync(key, Ticket($"r{i}", 10 + i), renewedFrom: "r0"))));
        Assert.Equal("r12", await CurrentRefreshTokenAsync(key));
        await _store.RemoveAsync(key);
        Assert.Equal(Enumerable.Range(1, 12).Select(i => $"r{i}").Order(StringComparer.Ordinal), _provider.Revoked.Order(StringComparer.Ordinal));
    }

    private sealed class RecordingProvider : IProviderTokens
    {
        private readonly ConcurrentQueue<string> _revoked = new();

        public IReadOnlyList<string> Revoked => [.. _revoked];

        public Task<JsonElement?> RedeemAsync(string refreshToken) => Task.FromResult<JsonElement?>(null);

        public Task RevokeAsync(string refreshToken, CancellationToken ct)
        {
            _revoked.Enqueue(refreshToken);
            return Task.CompletedTask;
        }
    }
}
