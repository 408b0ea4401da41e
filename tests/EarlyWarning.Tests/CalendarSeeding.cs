using Beacon.EarlyWarning.Storage;
using Beacon.RiskModels.Calendars;
using Beacon.Testing;

namespace Beacon.EarlyWarning.Tests;

/// <summary>District calendars written straight into Early warning's store, for tests about school years (not about the calendar feed).</summary>
public static class CalendarSeeding
{
    public static Task<int> AddCalendarYearsAsync(this ServiceFactory<Program> service, params SchoolYearCalendar[] years) =>
        service.WithDbAsync<EarlyWarningDbContext, int>(db =>
        {
            db.CalendarYears.AddRange(years.Select(y => new CalendarYearRow { SchoolYear = y.Label, FirstDay = y.FirstDay, LastDay = y.LastDay, OccurredAt = DateTimeOffset.UtcNow }));
            return db.SaveChangesAsync();
        });
}
