using Beacon.Contracts.Events;
using Beacon.Governance;
using Beacon.Interventions.Domain;
using Beacon.Interventions.Storage;
using Beacon.Messaging;

namespace Beacon.Interventions.Consumers;

/// <summary>
/// Keeps the subgroups a student belongs to (sex, race/ethnicity, economically disadvantaged, English learner, disability),
/// for the equity rows of the mastery effect only: growth gaps between subgroups. Upsert; never shown per student.
/// </summary>
public sealed class SubgroupUpserts(InterventionsDbContext db, IErasedStudents erased) : StudentRowUpserts<StudentDemographicsRecorded, StudentSubgroups>(db, erased)
{
    protected override string StudentIdOf(StudentDemographicsRecorded message) => message.StudentId;

    protected override StudentSubgroups NewRow(StudentDemographicsRecorded message) => new() { StudentId = message.StudentId };

    protected override void Apply(StudentSubgroups row, StudentDemographicsRecorded m) =>
        row.Labels = string.Join(',', StudentSubgroups.LabelsOf(m.Sex, m.RaceEthnicity, m.EconomicallyDisadvantaged, m.EnglishLearner, m.Disability));
}

/// <summary>Demographics gathered into batches, one transaction a batch: a roster upload publishes thousands at once.</summary>
public sealed class StudentDemographicsRecordedConsumer(InterventionsDbContext db, SubgroupUpserts upserts)
    : GatheredRecordsConsumer<StudentDemographicsRecorded>(db, upserts);
