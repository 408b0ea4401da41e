using Beacon.Interventions.Domain;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Interventions.Storage;

public sealed class InterventionsDbContext(DbContextOptions<InterventionsDbContext> options) : DbContext(options)
{
    public DbSet<InterventionCase> Cases => Set<InterventionCase>();
    public DbSet<CaseAlert> CaseAlerts => Set<CaseAlert>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<InterventionCase>(e =>
        {
            e.HasKey(c => c.CaseId);
            e.HasIndex(c => new { c.StudentId, c.Status });
            e.HasMany(c => c.Alerts).WithOne().HasForeignKey(a => a.CaseId);
        });
        modelBuilder.Entity<CaseAlert>().HasKey(a => a.AlertId);
        modelBuilder.AddOutbox();
    }
}
