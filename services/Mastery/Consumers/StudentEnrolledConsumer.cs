using Beacon.Contracts.Events;
using Beacon.Governance;
using Beacon.Mastery.Storage;
using Beacon.Messaging;

namespace Beacon.Mastery.Consumers;

/// <summary>Keeps Mastery's own copy of who is enrolled where, to group students by school. Upsert: redelivery is harmless.</summary>
public sealed class EnrolmentUpserts(MasteryDbContext db, IErasedStudents erased) : StudentRowUpserts<StudentEnrolled, EnrolledStudent>(db, erased)
{
    protected override string StudentIdOf(StudentEnrolled message) => message.StudentId;

    protected override EnrolledStudent NewRow(StudentEnrolled message) => new() { StudentId = message.StudentId, SchoolId = message.SchoolId };

    protected override void Apply(EnrolledStudent row, StudentEnrolled m) =>
        (row.SchoolId, row.GivenName, row.FamilyName, row.GradeLevel) = (m.SchoolId, m.GivenName, m.FamilyName, m.GradeLevel);
}

/// <summary>Enrolments gathered into batches, one transaction a batch: a roster upload publishes thousands at once.</summary>
public sealed class StudentEnrolledConsumer(MasteryDbContext db, EnrolmentUpserts upserts) : GatheredRecordsConsumer<StudentEnrolled>(db, upserts);
