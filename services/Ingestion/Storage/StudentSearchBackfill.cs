using Beacon.Ingestion.Domain;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Storage;

/// <summary>
/// A database made before student search has its students without a search key (the column arrives empty). At
/// start this fills the keys in, a thousand students per transaction, so an upgraded district can search at once;
/// on a database where every key is set it is one query that finds nothing.
/// </summary>
public sealed class StudentSearchBackfill(IServiceScopeFactory scopes, ILogger<StudentSearchBackfill> log) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var filled = 0;
        while (true)
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<IngestionDbContext>();
            var students = await db.Students.Where(s => s.SearchKey == "").OrderBy(s => s.StudentId).Take(1000).ToListAsync(cancellationToken);
            if (students.Count == 0)
            {
                break;
            }
            foreach (var s in students)
            {
                s.SearchKey = StudentSearch.Key(s.GivenName, s.FamilyName, s.StudentId);
            }
            await db.SaveChangesAsync(cancellationToken);
            filled += students.Count;
        }
        if (filled > 0)
        {
            log.LogInformation("Student search: filled the search key of {Count} students stored before search existed", filled);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
