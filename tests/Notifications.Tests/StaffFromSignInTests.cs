using Beacon.Notifications.Domain;
using Beacon.Notifications.Storage;
using Beacon.ServiceDefaults;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Notifications.Tests;

/// <summary>
/// A page's first requests arrive together: the person they come from is recorded once, without the requests racing
/// to insert the same staff row (which logged a failed INSERT per loser, as the OIDC sign-in test's logs showed).
/// </summary>
public sealed class StaffFromSignInTests : IAsyncLifetime
{
    private readonly ServiceFactory<Program> _service = new();

    public Task InitializeAsync() => _service.WaitUntilReadyAsync();

    public async Task DisposeAsync() => await _service.DisposeAsync();

    [Fact]
    public async Task A_new_persons_simultaneous_first_requests_record_them_once_with_no_failed_insert()
    {
        var id = $"cns-{Guid.NewGuid():N}"[..12];
        using var client = _service.CreateClientAs(TestTokens.For(id, [Roles.Counselor]));
        var answers = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => client.GetAsync($"/api/notifications/v1/staff/{id}/feed")));
        Assert.All(answers, a => Assert.True(a.IsSuccessStatusCode, $"{(int)a.StatusCode}"));

        var rows = await _service.WithDbAsync<NotificationsDbContext, List<StaffMember>>(db => db.Staff.AsNoTracking().Where(s => s.StaffId == id).ToListAsync());
        Assert.Equal((Roles.Counselor, StaffSources.SignIn), (Assert.Single(rows).Role, rows[0].Source));
        Assert.DoesNotContain(_service.ErrorLog.Errors, e => e.Contains("\"Staff\"", StringComparison.Ordinal) || e.Contains("NotificationsDbContext", StringComparison.Ordinal));
    }
}
