import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentOperator, OperatorAuth, OperatorPrincipal } from '../auth/access.decorators';
import { MaintenanceCalendar, MaintenanceChangeDto, MaintenanceWindowDto } from './maintenance';
import { ApiProblems } from '../common/errors/api-problems';

@ApiTags('operators')
@Controller('admin/api/maintenance-windows')
@OperatorAuth('operator', 'admin')
export class MaintenanceController {
  constructor(private readonly calendar: MaintenanceCalendar) {}

  @Post() @HttpCode(201)
  @ApiOperation({ summary: 'Announce a planned maintenance window; lookups answer 503 maintenance during it' })
  announce(@Body() body: MaintenanceWindowDto, @CurrentOperator() principal: OperatorPrincipal) {
    return this.calendar.announce(body, { type: 'operator', operatorId: principal.operator.id });
  }

  @Patch(':id') @HttpCode(200) @ApiProblems('maintenance_over')
  @ApiOperation({ summary: 'Move, extend, shorten or re-word a window that has not ended; partners are told (maintenance.changed)' })
  change(@Param('id') id: string, @Body() body: MaintenanceChangeDto, @CurrentOperator() principal: OperatorPrincipal) {
    return this.calendar.change(id, body, { type: 'operator', operatorId: principal.operator.id });
  }

  @Delete(':id') @HttpCode(200) @ApiProblems('maintenance_over')
  @ApiOperation({ summary: 'Cancel a window that has not ended (one running ends now)' })
  cancel(@Param('id') id: string, @CurrentOperator() principal: OperatorPrincipal) {
    return this.calendar.cancel(id, { type: 'operator', operatorId: principal.operator.id });
  }

  @Get()
  list() {
    return this.calendar.list();
  }
}
