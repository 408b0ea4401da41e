namespace Beacon.Simulator.Tests;

public class RecordingShiftTests
{
    private static readonly SimulationOptions Plain = new(Seed: 7, Schools: 2, StudentsPerSchool: 60, SchoolDays: 40, LastDay: new DateOnly(2026, 12, 18));

    [Fact]
    public void From_the_shift_day_late_arrivals_are_recorded_as_absences_and_nothing_else_changes()
    {
        var plain = DistrictGenerator.Generate(Plain);
        var shifted = DistrictGenerator.Generate(Plain with { ShiftFromDay = 21 });
        var days = plain.Attendance.Select(a => a.Date).Distinct().Order().ToArray();
        var shiftDate = days[20];

        Assert.Equal(plain.Attendance.Count, shifted.Attendance.Count);
        foreach (var (before, after) in plain.Attendance.Zip(shifted.Attendance))
        {
            var expected = before.Date >= shiftDate && before.Status == "tardy" ? "absent" : before.Status;
            Assert.Equal(before with { Status = expected }, after);
        }
        Assert.Contains(plain.Attendance, a => a.Date >= shiftDate && a.Status == "tardy");   // the shift had something to change
        Assert.DoesNotContain(shifted.Attendance, a => a.Date >= shiftDate && a.Status == "tardy");
        // Behaviour and the truth are the same district's.
        Assert.Equal(plain.Truth.Outcomes, shifted.Truth.Outcomes);
        Assert.Equal(plain.Answers, shifted.Answers);
        Assert.Null(plain.Truth.RecordingShift);
        Assert.Contains("school day 21", shifted.Truth.RecordingShift);
    }
}
