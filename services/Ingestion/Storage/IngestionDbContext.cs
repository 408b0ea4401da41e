using Beacon.Ingestion.Domain;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Storage;

public sealed class IngestionDbContext(DbContextOptions<IngestionDbContext> options) : DbContext(options)
{
    public DbSet<School> Schools => Set<School>();
    public DbSet<StaffMember> Staff => Set<StaffMember>();
    public DbSet<Student> Students => Set<Student>();
    public DbSet<AttendanceRecord> Attendance => Set<AttendanceRecord>();
    public DbSet<ItemResponse> ItemResponses => Set<ItemResponse>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<School>().HasKey(s => s.SchoolId);
        modelBuilder.Entity<StaffMember>(e =>
        {
            e.HasKey(s => s.StaffId);
            e.HasIndex(s => new { s.SchoolId, s.Role });
        });
        modelBuilder.Entity<Student>(e =>
        {
            e.HasKey(s => s.StudentId);
            e.HasIndex(s => s.SchoolId);
        });
        modelBuilder.Entity<AttendanceRecord>().HasKey(a => new { a.StudentId, a.Date });
        modelBuilder.Entity<ItemResponse>().HasKey(r => new { r.StudentId, r.ItemId, r.AttemptNumber });
        modelBuilder.AddOutbox();
    }
}
